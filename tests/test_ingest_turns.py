"""The speaker-label grammar and turn parsing of plain transcript text."""

from __future__ import annotations

import pytest

from qualcode.errors import ParameterError
from qualcode.ingest.turns import classify_label, paragraph_spans, parse_time, parse_turns


def first_turn(line: str):
    """The first labelled turn of ``line`` followed by a reply, as (speaker, role, time, text)."""
    text = f"{line}\n\nINTERVIEWER: And then?"
    turns, _ = parse_turns(text)
    turn = turns[0]
    return turn.speaker, turn.role, turn.start_time, text[turn.start:turn.end]


# line, speaker, role, start time, content
LABELS = [
    ("Sarah: We went.", "Sarah", "participant", None, "We went."),
    ("Sarah, Ash Grove: We went.", "Sarah", "participant", None, "We went."),
    ("Dave, Southfield: Right.", "Dave", "participant", None, "Right."),
    ("KELLY: Shouting.", "KELLY", "participant", None, "Shouting."),
    ("SARAH JONES: Hello.", "SARAH JONES", "participant", None, "Hello."),
    ("INTERVIEWER: So tell me.", "INTERVIEWER", "interviewer", None, "So tell me."),
    ("Interviewer: So tell me.", "Interviewer", "interviewer", None, "So tell me."),
    ("Participant: Yes.", "Participant", "participant", None, "Yes."),
    ("MODERATOR: Task one.", "MODERATOR", "interviewer", None, "Task one."),
    ("Moderator (Anna): Task one.", "Anna", "interviewer", None, "Task one."),
    ("Anna (Moderator): Task one.", "Anna", "interviewer", None, "Task one."),
    ("Facilitator: Welcome.", "Facilitator", "interviewer", None, "Welcome."),
    ("Researcher: Welcome.", "Researcher", "interviewer", None, "Welcome."),
    ("Q: Why?", "Q", "interviewer", None, "Why?"),
    ("A: Because.", "A", "participant", None, "Because."),
    ("I: Why?", "I", "interviewer", None, "Why?"),
    ("R: Because.", "R", "participant", None, "Because."),
    ("P4: Because.", "P4", "participant", None, "Because."),
    ("Speaker 2: Hm.", "Speaker 2", "participant", None, "Hm."),
    ("Interviewer 1: Hm.", "Interviewer 1", "interviewer", None, "Hm."),
    ("Int: Hm.", "Int", "interviewer", None, "Hm."),
    ("[00:03:12] Dave, Southfield: Right.", "Dave", "participant", 192.0, "Right."),
    ("[00:03:12] INTERVIEWER: Right.", "INTERVIEWER", "interviewer", 192.0, "Right."),
    ("00:03:12 Kelly: Right.", "Kelly", "participant", 192.0, "Right."),
    ("SPEAKER_01: Diarised.", "SPEAKER_01", "participant", None, "Diarised."),
    ("(01:02:03.5) Ben: Right.", "Ben", "participant", 3723.5, "Right."),
    ("03:12 - Ben: Right.", "Ben", "participant", 192.0, "Right."),
    ("Ben [00:00:07]: Right.", "Ben", "participant", 7.0, "Right."),
    ("Speaker 1 (00:02):\nHello there.", "Speaker 1", "participant", 2.0, "Hello there."),
    ("Interviewer (Sam): Fine.", "Sam", "interviewer", None, "Fine."),
    ("  \tMODERATOR: Indented.", "MODERATOR", "interviewer", None, "Indented."),
    ("**Sarah:** Bold label.", "Sarah", "participant", None, "Bold label."),
    ("**Sarah**: Bold name.", "Sarah", "participant", None, "Bold name."),
    ("Dr. Smith: Hello.", "Dr. Smith", "participant", None, "Hello."),
    ("Maria de Souza: Olá.", "Maria de Souza", "participant", None, "Olá."),
    ("Zoë: Hi.", "Zoë", "participant", None, "Hi."),
    ("O'Brien: Hi.", "O'Brien", "participant", None, "Hi."),
    ("Anna (she/her): Hi.", "Anna", "participant", None, "Hi."),
    ("Sarah: (laughs) Well: it was odd.", "Sarah", "participant", None,
     "(laughs) Well: it was odd."),
]


@pytest.mark.parametrize(("line", "speaker", "role", "time", "content"), LABELS)
def test_label_grammar(line, speaker, role, time, content):
    assert first_turn(line) == (speaker, role, time, content)


# Lines that are prose, not a speaker: each stays inside the interviewer's turn.
FALSE_LABELS = [
    "The point is: we went",
    "Note: the recording stopped here.",
    "NOTE: the recording stopped here.",
    "Location: Cork. Time window from day 1.",
    "Heat map:",
    "Case study: example events in Ireland.",
    "Aggregation method: mean, sum, min or max.",
    "So temporal units: hour, day, month.",
    "The case study is: example events.",
    "And the dct:license is here.",
    "He said: go away.",
    "Yes: I think so.",
    "Well, Sarah: not really.",
    "Monday: we went out.",
    "(laughs): well anyway.",
    "[inaudible]: something.",
    "Time: 10:30 in the morning.",
    "http://example.org: a link.",
    "12:30: we arrived.",
    "Step 1: knock on the door.",
    "Why would you ask: because.",
    "It was three things: food, rent, heat.",
    "Honestly, what happened: nothing.",
    "iPhone: it was broken.",
    "My mum said: no way.",
]


@pytest.mark.parametrize("line", FALSE_LABELS)
def test_prose_with_a_colon_is_not_a_speaker(line):
    text = f"INTERVIEWER: Tell me.\n\nSarah: Well.\n\nIt went on.\n\n{line}\n\nMore text."
    turns, _ = parse_turns(text)
    assert [t.speaker for t in turns] == ["INTERVIEWER", "Sarah"]
    assert line.strip() in text[turns[1].start:turns[1].end]


@pytest.mark.parametrize(("label", "expected"), [
    ("Sarah, Ash Grove", ("Sarah", "participant", True)),
    ("Anna", ("Anna", "participant", False)),
    ("Box Plot", ("Box Plot", "participant", False)),
    ("MODERATOR", ("MODERATOR", "interviewer", True)),
    ("Researcher Smith", ("Researcher Smith", "interviewer", False)),
    ("The point is", None),
    ("a" * 61, None),
    ("One Two Three Four Five", None),
    ("Sarah, in the end", None),
])
def test_classify_label(label, expected):
    found = classify_label(label)
    assert (None if found is None else (found.speaker, found.role, found.strong)) == expected


def test_a_weak_label_needs_support_in_the_document():
    # "Cork" alone inside an answer: no neighbouring label, said once -> prose
    text = "INTERVIEWER: Where?\n\nSarah: Here.\n\nWe drove.\n\nCork: lovely.\n\nThe end."
    assert [t.speaker for t in parse_turns(text)[0]] == ["INTERVIEWER", "Sarah"]
    # a name that recurs is a speaker even far from other labels
    text = "Anna: One.\n\nmore\n\nBen: Two.\n\nmore\n\nAnna: Three.\n\nmore\n\nBen: Four."
    assert [t.speaker for t in parse_turns(text)[0]] == ["Anna", "Ben", "Anna", "Ben"]
    # a name next to another label is a speaker though it speaks once
    text = "INTERVIEWER: Why?\nBen: Because."
    assert [t.speaker for t in parse_turns(text)[0]] == ["INTERVIEWER", "Ben"]
    # a name opening the document is a speaker
    assert parse_turns("Ben: Hello there.")[0][0].speaker == "Ben"


def test_continuation_paragraphs_belong_to_the_turn_and_offsets_skip_labels():
    text = (
        "Interview 3, recorded at school.\n\n"
        "INTERVIEWER: First question?\n\n"
        "Sarah, Ash Grove: First paragraph.\n\n"
        "Second paragraph (laughs).\n\n"
        "[inaudible] third.\n\n"
        "INTERVIEWER: Thanks."
    )
    turns, notes = parse_turns(text)
    assert [(t.speaker, t.role) for t in turns] == [
        (None, None), ("INTERVIEWER", "interviewer"), ("Sarah", "participant"),
        ("INTERVIEWER", "interviewer"),
    ]
    assert text[turns[0].start:turns[0].end] == "Interview 3, recorded at school."
    assert text[turns[2].start:turns[2].end] == (
        "First paragraph.\n\nSecond paragraph (laughs).\n\n[inaudible] third."
    )
    assert text[turns[3].start:turns[3].end] == "Thanks."
    assert any("before the first speaker label" in n for n in notes)


def test_labels_on_consecutive_lines_and_a_label_alone_on_its_line():
    text = "A: one\nB: two\nQ:\nthree\nA: four"
    turns, _ = parse_turns(text)
    assert [(t.speaker, text[t.start:t.end]) for t in turns] == [
        ("A", "one"), ("B", "two"), ("Q", "three"), ("A", "four"),
    ]


def test_text_without_labels_is_one_turn_without_speaker():
    text = "  Just some notes.\n\nAnd more.  \n"
    turns, notes = parse_turns(text)
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in turns] == [
        (None, None, "Just some notes.\n\nAnd more.")
    ]
    assert notes


def test_empty_turns_are_dropped():
    turns, _ = parse_turns("INTERVIEWER:\nA: yes\nQ: \n\nA: no")
    assert [t.speaker for t in turns] == ["A", "A"]


def test_interviewer_only_labelling_reads_unlabelled_paragraphs_as_the_participant():
    text = (
        "1 Read the home tab.\n\n"
        "\tAlright, I have logged in.\n\n"
        "\t(The participant reads the task)\n\n"
        "\tMODERATOR: Could you start with task 1?\n\n"
        "    1.a Was the information enough?\n\n"
        "    \tYes, I think so.\n\n"
        "    \tLocation: Cork. That was easy.\n\n"
        "        c.ii Data Lineage\n\n"
        "        \tI am a little lost.\n\n"
        "        \t4 data sets.\n\n"
        "\tMODERATOR: No worries."
    )
    turns, notes = parse_turns(text)
    got = [(t.speaker, t.role, text[t.start:t.end]) for t in turns]
    assert got == [
        (None, None, "1 Read the home tab."),
        (None, "participant",
         "Alright, I have logged in.\n\n\t(The participant reads the task)"),
        ("MODERATOR", "interviewer", "Could you start with task 1?"),
        (None, None, "1.a Was the information enough?"),
        (None, "participant", "Yes, I think so.\n\n    \tLocation: Cork. That was easy."),
        (None, None, "c.ii Data Lineage"),
        (None, "participant", "I am a little lost.\n\n        \t4 data sets."),
        ("MODERATOR", "interviewer", "No worries."),
    ]
    assert any("Only the interviewer is labelled" in n for n in notes)
    # forcing the other reading: the paragraphs continue the moderator's turn
    turns, _ = parse_turns(text, unlabelled="continue")
    assert [t.speaker for t in turns] == [None, "MODERATOR", "MODERATOR"]


def test_unlabelled_participant_mode_can_be_forced():
    text = "Q: Why?\n\nBecause.\n\nA: Also this."
    turns, _ = parse_turns(text, unlabelled="participant")
    assert [(t.speaker, t.role) for t in turns] == [
        ("Q", "interviewer"), (None, "participant"), ("A", "participant"),
    ]


def test_unknown_unlabelled_mode_is_a_parameter_error():
    with pytest.raises(ParameterError, match="'unlabelled' parameter"):
        parse_turns("A: b", unlabelled="guess")


@pytest.mark.parametrize(("stamp", "seconds"), [
    ("00:03:12", 192.0), ("[00:03:12]", 192.0), ("3:12", 192.0), ("1:02:03.5", 3723.5),
    ("00:00:01,250", 1.25), (None, None), ("no time", None),
])
def test_parse_time(stamp, seconds):
    assert parse_time(stamp) == seconds


def test_paragraph_spans_use_blank_lines_or_else_lines():
    text = "one\nwrapped\n\n  two  \n\n\n\nthree"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["one\nwrapped", "two", "three"]
    text = "one\ntwo\n  \nthree"  # a whitespace-only line counts as blank
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["one\ntwo", "three"]
    text = "one\ntwo\nthree"
    assert [text[s:e] for s, e in paragraph_spans(text)] == ["one", "two", "three"]


def test_interviewer_only_labels_inside_a_paragraph_still_start_turns():
    text = "I clicked it.\nMODERATOR: Good.\nThen I left.\n\nMODERATOR: Thanks.\n\nBye."
    turns, _ = parse_turns(text)
    assert [(t.speaker, t.role, text[t.start:t.end]) for t in turns] == [
        (None, "participant", "I clicked it."),
        ("MODERATOR", "interviewer", "Good.\nThen I left."),
        ("MODERATOR", "interviewer", "Thanks."),
        (None, "participant", "Bye."),
    ]
