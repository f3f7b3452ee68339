"""Segmentation into turns, paragraphs and sentences: offsets, order, the sentence splitter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.errors import ParameterError
from qualcode.ingest import Turn, segment_turns, sentence_spans
from qualcode.ingest.turns import parse_turns
from qualcode.model import Document, Segment

TRANSCRIPT = (
    "[00:00:04] INTERVIEWER: Tell me about the last visit. What happened?\n\n"
    "[00:00:12] Dave, Southfield: Well, Mr. Jones opened the door. He said \"Come in.\" "
    "So I did (laughs).\n\n"
    "It cost £3.50 a week, e.g. for bread. Then... Nothing.\n\n"
    "[00:01:02] INTERVIEWER: Thanks."
)


def segments_of(text: str, unit: str):
    document = Document("d", text)
    turns, _ = parse_turns(text)
    return segment_turns(document, turns, unit)


def test_turn_segments_carry_speaker_role_and_time():
    segments = segments_of(TRANSCRIPT, "turns")
    assert [(s.kind, s.index, s.speaker, s.role, s.start_time) for s in segments] == [
        ("turn", 0, "INTERVIEWER", "interviewer", 4.0),
        ("turn", 1, "Dave", "participant", 12.0),
        ("turn", 2, "INTERVIEWER", "interviewer", 62.0),
    ]
    assert segments[0].text == "Tell me about the last visit. What happened?"
    assert segments[2].text == "Thanks."


def test_paragraph_segments_split_turns_at_blank_lines():
    segments = segments_of(TRANSCRIPT, "paragraphs")
    assert [s.text[:12] for s in segments] == [
        "Tell me abou", "Well, Mr. Jo", "It cost £3.5", "Thanks.",
    ]
    assert [s.index for s in segments] == [0, 1, 2, 3]
    assert {s.kind for s in segments} == {"paragraph"}
    # the first paragraph of a turn keeps its start time, later ones do not
    assert [s.start_time for s in segments] == [4.0, 12.0, None, 62.0]
    assert [s.speaker for s in segments] == ["INTERVIEWER", "Dave", "Dave", "INTERVIEWER"]


def test_sentence_segments_keep_speaker_and_handle_abbreviations():
    segments = segments_of(TRANSCRIPT, "sentences")
    assert [(s.speaker, s.text) for s in segments] == [
        ("INTERVIEWER", "Tell me about the last visit."),
        ("INTERVIEWER", "What happened?"),
        ("Dave", "Well, Mr. Jones opened the door."),
        ("Dave", "He said \"Come in.\""),
        ("Dave", "So I did (laughs)."),
        ("Dave", "It cost £3.50 a week, e.g. for bread."),
        ("Dave", "Then..."),
        ("Dave", "Nothing."),
        ("INTERVIEWER", "Thanks."),
    ]
    assert [s.role for s in segments].count("participant") == 6


@pytest.mark.parametrize(("text", "sentences"), [
    ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
    ("Dr. Smith and Mrs. Brown met at 9 a.m. Friday.",
     ["Dr. Smith and Mrs. Brown met at 9 a.m. Friday."]),
    ("See No. 5 and p. 12. Then stop.", ["See No. 5 and p. 12.", "Then stop."]),
    ("J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."]),
    ("It was 3.5 miles. We walked.", ["It was 3.5 miles.", "We walked."]),
    ("We left in 2020. 2021 was worse.", ["We left in 2020.", "2021 was worse."]),
    ("I wasn't sure... and then. so on.", ["I wasn't sure... and then. so on."]),
    ("Not sure what this is ... Not sure.", ["Not sure what this is ...", "Not sure."]),
    ("She asked \"Are you the bailiffs?\" and laughed.",
     ["She asked \"Are you the bailiffs?\" and laughed."]),
    ("He said 'no.' Then left.", ["He said 'no.'", "Then left."]),
    ("Really?! (pause) Yes.", ["Really?!", "(pause) Yes."]),
    ("Its own adventure. (laughs) Before that. [inaudible] so.",
     ["Its own adventure.", "(laughs) Before that. [inaudible] so."]),
    ("Je suis allé. Émile aussi.", ["Je suis allé.", "Émile aussi."]),
    ("In the U.K. It rains.", ["In the U.K. It rains."]),
    ("Line one.\nLine two wrapped. End.", ["Line one.", "Line two wrapped.", "End."]),
    ("   padded.   ", ["padded."]),
    ("", []),
])
def test_sentence_splitter(text, sentences):
    assert [text[s:e] for s, e in sentence_spans(text)] == sentences


@pytest.mark.parametrize("unit", ["turns", "paragraphs", "sentences"])
@pytest.mark.parametrize(("start", "end"), [(0, 99), (5, 3), (-2, 4)])
def test_a_turn_outside_the_text_is_a_parameter_error(unit, start, end):
    # segment_turns checks each turn once (its pieces lie inside it)
    document = Document("d", "Anna: Hello there. Fine.")
    with pytest.raises(ParameterError, match=r"A turn in document 'd' must satisfy 0 <= "):
        segment_turns(document, [Turn(start, end, "Anna", "participant")], unit)


@pytest.mark.parametrize("unit", ["turns", "paragraphs", "sentences"])
def test_segments_made_from_checked_values_equal_checked_segments(unit):
    # segment_turns skips each segment's own checks, having checked its turn
    document = Document("d", TRANSCRIPT)
    for segment in segments_of(TRANSCRIPT, unit):
        checked = Segment.of(
            document, segment.start, segment.end, kind=segment.kind, index=segment.index,
            speaker=segment.speaker, role=segment.role, start_time=segment.start_time,
            end_time=segment.end_time)
        assert segment == checked and hash(segment) == hash(checked)
        assert repr(segment) == repr(checked)


@pytest.mark.parametrize("unit", ["turns", "paragraphs", "sentences"])
def test_a_turn_with_an_unknown_role_is_a_parameter_error(unit):
    document = Document("d", "Anna: Hello there. Fine.")
    with pytest.raises(ParameterError, match=r"The 'role' of a segment must be 'interviewer', "
                       r"'participant' or None. Got 'host' instead."):
        segment_turns(document, [Turn(6, 24, "Anna", "host")], unit)


def test_unknown_unit_is_a_parameter_error():
    with pytest.raises(ParameterError, match="'segment' parameter of load_corpus"):
        segments_of("A: b", "words")


def test_singular_unit_names_are_accepted():
    assert segments_of("A: One. Two.", "sentence")[1].text == "Two."


# -- properties ------------------------------------------------------------------------
_WORDS = st.sampled_from([
    "we", "went", "Mr.", "Dr.", "e.g.", "i.e.", "3.5", "2020.", "...", "…", "(laughs)",
    "[inaudible]", "\"Yes.\"", "'no?'", "Home!", "visit.", "The", "It", "so:", "Note:",
    "café", "Ünal", "—", ",", "  ", "\t",
])
_LINES = st.one_of(
    st.lists(_WORDS, min_size=0, max_size=12).map(" ".join),
    st.builds(lambda label, rest: f"{label}: {rest}",
              st.sampled_from(["INTERVIEWER", "Sarah, Ash Grove", "[00:01:02] Dave", "Q", "A",
                               "P4", "MODERATOR", "Anna"]),
              st.lists(_WORDS, max_size=8).map(" ".join)),
    st.just(""),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
)
_TEXTS = st.lists(_LINES, min_size=1, max_size=14).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(text=_TEXTS, unit=st.sampled_from(["turns", "paragraphs", "sentences"]))
def test_segments_are_ordered_non_overlapping_views_of_the_text(text, unit):
    document = Document("d", text)
    turns, _ = parse_turns(text)
    segments = segment_turns(document, turns, unit)
    previous_end = 0
    for i, segment in enumerate(segments):
        assert segment.index == i
        assert segment.text == document.text[segment.start:segment.end]
        assert previous_end <= segment.start < segment.end
        assert segment.text == segment.text.strip()
        previous_end = segment.end
    # every segment lies inside exactly one turn, and keeps its speaker and role
    for segment in segments:
        owners = [t for t in turns if t.start <= segment.start and segment.end <= t.end]
        assert len(owners) == 1
        assert (segment.speaker, segment.role) == (owners[0].speaker, owners[0].role)


@settings(max_examples=60, deadline=None)
@given(text=_TEXTS)
def test_sentences_cover_every_word_of_their_turn(text):
    document = Document("d", text)
    turns, _ = parse_turns(text)
    sentences = segment_turns(document, turns, "sentences")
    for turn in turns:
        inside = [s for s in sentences if turn.start <= s.start and s.end <= turn.end]
        covered = "".join(s.text for s in inside)
        assert "".join(text[turn.start:turn.end].split()) == "".join(covered.split())
