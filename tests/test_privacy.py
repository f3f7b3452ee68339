"""Pseudonymisation (issue 8, part 5): names found, replaced consistently, codings aligned,
key kept apart, nothing written until applied, the original never touched."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import unicodedata
from pathlib import Path

import pytest
from cli_runner import run
from hypothesis import given, settings
from hypothesis import strategies as st

import qualcode.cli.privacy  # noqa: F401  (registers `qualcode anonymise`)
from qualcode.errors import InputError, ParameterError, ProjectError
from qualcode.model import Code, Codebook, Coding, Corpus, Document, Segment
from qualcode.privacy import (
    _WORD,
    NameList,
    Pseudonymiser,
    _edit,
    _is_name_label,
    _OffsetMap,
    _skip_reason,
    _WordStats,
    anonymise,
    load_name_list,
    parse_name_list,
)
from qualcode.project import Project

TEXTS = {
    "int01_sarah": (
        "INTERVIEWER: Tell me about the visit.\n"
        "Sarah: I went with Tom Baker to Hollins Road. Tom's car was outside.\n"
        "Sarah: Mrs Baker said the Beacon estate was quiet. Mum made tea; CAMHS rang."
    ),
    "int02_tom": (
        "INTERVIEWER: And you?\n"
        "Tom Baker: Sarah rang me. We parked on Hollins Road by Oakview Academy.\n"
        "Tom Baker: Oakview were worried about Sarah's safety."
    ),
}
ATTRIBUTES = {
    "int01_sarah": {"participant": "Sarah", "setting": "Oakview Academy", "role": "Teacher"},
    "int02_tom": {"participant": "Tom Baker", "setting": "Oakview Academy", "role": "Mentor"},
}
EXPECTED = {
    "int01_person_1": (
        "INTERVIEWER: Tell me about the visit.\n"
        "Person 1: I went with Person 2 to Place 1. Person 2's car was outside.\n"
        "Person 1: Mrs Person 2 said the Place 2 estate was quiet. Mum made tea; CAMHS rang."
    ),
    "int02_person_2": (
        "INTERVIEWER: And you?\n"
        "Person 2: Person 1 rang me. We parked on Place 1 by Organisation 1.\n"
        "Person 2: Organisation 1 were worried about Person 1's safety."
    ),
}
REAL_NAMES = ("Sarah", "Tom", "Baker", "Hollins", "Beacon", "Oakview")
ENTITIES = {"Tom Baker": "PERSON", "Hollins Road": "FAC", "Beacon": "GPE",
            "Oakview Academy": "ORG", "Oakview": "ORG", "Sarah": "PERSON", "Mum": "PERSON",
            "CAMHS": "ORG"}


def fake_ner(texts):
    """A deterministic stand-in for spaCy: finds the entities of ENTITIES in each text."""
    pattern = re.compile("|".join(sorted(map(re.escape, ENTITIES), key=len, reverse=True)))
    return [[(m.start(), m.end(), ENTITIES[m.group()]) for m in pattern.finditer(t)]
            for t in texts]


def corpus_of(texts: dict[str, str], attributes: dict[str, dict[str, str]]) -> Corpus:
    """Documents whose turns are their lines (``Speaker: text``)."""
    documents, segments = [], []
    for doc_id, text in texts.items():
        document = Document(doc_id, text, attributes.get(doc_id, {}), f"/data/{doc_id}.txt")
        documents.append(document)
        offset = 0
        for index, line in enumerate(text.split("\n")):
            speaker, _, _ = line.partition(": ")
            segments.append(Segment.of(
                document, offset + len(speaker) + 2, offset + len(line), index=index,
                speaker=speaker,
                role="interviewer" if speaker == "INTERVIEWER" else "participant"))
            offset += len(line) + 1
    return Corpus(tuple(documents), tuple(segments))


CODEBOOK = Codebook("b", (
    Code("places", definition="Streets like Hollins Road.", examples=("Near the Beacon.",)),
    Code("people"),
))


def span_of(doc_id: str, words: str, start_at: int = 0) -> tuple[int, int]:
    start = TEXTS[doc_id].index(words, start_at)
    return start, start + len(words)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    path = tmp_path / "study.qualcode"
    with Project.create(path, codebook=CODEBOOK) as project:
        project.add_corpus(corpus_of(TEXTS, ATTRIBUTES))
        codings = []
        for doc_id, words, code in [
            ("int01_sarah", "I went with Tom Baker to Hollins Road.", "places"),
            ("int01_sarah", "Tom's car was outside.", "people"),
            ("int02_tom", "We parked on Hollins Road by Oakview Academy.", "places"),
            ("int02_tom", "Sarah rang me", "people"),
        ]:
            start, end = span_of(doc_id, words)
            codings.append(Coding(doc_id, start, end, code, "reference",
                                  memo=f"about {words[:12]}"))
        # a coding that starts and ends inside names: it must grow to whole pseudonyms
        start = TEXTS["int01_sarah"].index("Baker to Hollins") + 2
        codings.append(Coding("int01_sarah", start, start + 17, "people", "reference",
                              status="suggested", reason="matched 'Hollins Road'"))
        ids = project.add_codings(codings)
        project.add_memo("Sarah knows Tom Baker from Oakview.", document="int01_sarah",
                         coding=ids[0], author="reference", created="2026-01-02T03:04:05+00:00")
        project.reject(ids[4], by="anna")
    return path


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the names list ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "replace", "keep"),
    [
        ("Sarah Jones\n", {"Sarah Jones": None}, set()),
        ("Sarah Jones = Kate Brown\n", {"Sarah Jones": "Kate Brown"}, set()),
        ("  Hollins   Road=Place 7  # a street\n", {"Hollins Road": "Place 7"}, set()),
        ("!Easter\n# a comment\n\n", {}, {"Easter"}),
        ("\ufeffSarah\r\nTom\r\n", {"Sarah": None, "Tom": None}, set()),
        ("Sarah\nSarah\n", {"Sarah": None}, set()),
    ],
)
def test_names_list_lines(text: str, replace: dict, keep: set) -> None:
    names = parse_name_list(text)
    assert dict(names.replace) == replace and set(names.keep) == keep


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("Sarah\n= Kate\n", 2, "holds no name"),
        ("Sarah =\n", 1, "gives no pseudonym"),
        ("!\n", 1, "followed by the name"),
        ("Sarah = A\nSarah = B\n", 2, "twice with different pseudonyms"),
        ("Sarah\n!Sarah\n", 2, "both to replace"),
        ("!Sarah\nSarah\n", 2, "both to keep"),
    ],
)
def test_names_list_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int,
                                                  message: str) -> None:
    path = tmp_path / "names.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message) as info:
        load_name_list(path)
    assert info.value.line == line and str(path) in str(info.value)


def test_names_list_that_is_missing_or_binary(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such names file"):
        load_name_list(tmp_path / "nope.txt")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(InputError, match="binary"):
        load_name_list(tmp_path / "bin.txt")


# -- deciding what is a name ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "is_name"),
    [("Sarah", True), ("Sarah Jones", True), ("Maria de Souza", True), ("SARAH", True),
     ("INTERVIEWER", False), ("Interviewer 2", False), ("P4", False), ("Speaker 2", False),
     ("Q", False), ("Moderator", False), ("Participant", False), ("[00:01] Dave", False),
     ("", False)],
)
def test_which_speaker_labels_are_names(label: str, is_name: bool) -> None:
    assert _is_name_label(label) is is_name


STATS = _WordStats(["Attendance was poor. We checked attendance. I met Hope and said I hope so.",
                    "Weed was everywhere. They smoked weed in the Year Eleven block."])


@pytest.mark.parametrize(
    ("entity", "skipped"),
    [("Sarah Jones", False), ("Hollins Road", False), ("Hope", False), ("CAMHS", True),
     ("Mum", True), ("Easter", True), ("Attendance", True), ("Weed", True), ("Key Stage 2", True),
     ("Lane", True), ("red folder", True), ("J", True), ("Year Eleven", True)],
)
def test_which_recognised_entities_are_skipped(entity: str, skipped: bool) -> None:
    assert (_skip_reason(entity, STATS, acronyms=False) is not None) is skipped


# -- the proposal --------------------------------------------------------------------------
def test_proposal_names_every_mention_consistently(study: Path) -> None:
    proposal = Pseudonymiser(ner=fake_ner).propose(study)
    by_real = {n.real: n for n in proposal.names}
    assert by_real["Sarah"].pseudonym == "Person 1"
    assert by_real["Tom Baker"].pseudonym == "Person 2"
    assert by_real["Tom"].pseudonym == by_real["Baker"].pseudonym == "Person 2"
    assert by_real["Tom"].alias_of == "Tom Baker"
    assert by_real["Hollins Road"].type == "place"
    assert by_real["Beacon"].type == "place"  # "the Beacon estate", whatever the model said
    assert by_real["Oakview Academy"].type == by_real["Oakview"].type == "organisation"
    assert by_real["Oakview"].pseudonym == "Organisation 1"
    assert "speaker" in by_real["Sarah"].sources and "attribute" in by_real["Sarah"].sources
    assert dict(proposal.skipped).keys() >= {"Mum", "CAMHS"}
    assert "Mum" not in by_real and "CAMHS" not in by_real
    # every replacement shows its context, and the text it replaces is the name
    for r in proposal.replacements:
        assert TEXTS[r.document_id][r.start:r.end] == r.text
        assert r.context.count("[") == 1 and r.text in r.context
    assert proposal.document_ids == {"int01_sarah": "int01_person_1",
                                     "int02_tom": "int02_person_2"}
    frame = proposal.to_frame()
    assert list(frame.columns) == ["document", "start", "end", "text", "pseudonym", "type",
                                   "name", "context"]
    assert len(frame) == len(proposal) == sum(n.mentions for n in proposal.names)


def test_nothing_is_written_until_apply(study: Path) -> None:
    before = {p.name: file_hash(p) for p in study.parent.iterdir()}
    result = anonymise(study, ner=fake_ner)
    assert not result.applied and len(result.proposal) > 0
    assert {p.name: file_hash(p) for p in study.parent.iterdir()} == before


def test_apply_writes_a_new_project_with_aligned_codings(study: Path, tmp_path: Path) -> None:
    original_hash = file_hash(study)
    with Project.open(study) as project:
        old_codings = {c.id: (c, project.text_of(c)) for c in project.codings()}
        old_decisions = project.decisions()
        old_versions = project.codebook_versions()
    out, key = tmp_path / "anon.qualcode", tmp_path / "keys" / "key.csv"
    key.parent.mkdir()
    result = anonymise(study, ner=fake_ner, apply=True, out=out, key=key)
    assert result.applied and result.codings == 5 and result.memos == 1
    assert file_hash(study) == original_hash  # the original is only read
    proposal = result.proposal
    with Project.open(out) as anon:
        assert {d.id: d.text for d in anon.documents} == EXPECTED
        assert [d.source for d in anon.documents] == [None, None]
        assert anon.documents["int02_person_2"].attributes == {
            "participant": "Person 2", "setting": "Organisation 1", "role": "Mentor"}
        speakers = {s.speaker for s in anon.segments()}
        assert speakers == {"INTERVIEWER", "Person 1", "Person 2"}
        for segment in anon.segments():
            assert segment.text == anon.documents[segment.document_id].text[
                segment.start:segment.end]
        new = list(anon.codings())
        assert len(new) == len(old_codings)
        for (old, old_text), coding in zip(old_codings.values(), new, strict=True):
            text = anon.text_of(coding)
            assert (coding.code_id, coding.status, coding.coder, coding.created) == (
                old.code_id, old.status, old.coder, old.created)
            if old.status == "accepted":  # boundaries on word edges: same words, renamed
                assert text == proposal.pseudonymise(old_text)
            else:  # boundaries inside names: grown to hold whole pseudonyms
                assert text == "Person 2 to Place 1"
            assert coding.memo == proposal.pseudonymise(old.memo)
        assert new[4].reason == "matched 'Place 1'"
        memo = anon.memos()[0]
        assert memo.text == "Person 1 knows Person 2 from Organisation 1."
        assert memo.document_id == "int01_person_1" and memo.coding_id == new[0].id
        # the history comes too: when memos and codebook versions were written, and who
        # accepted or rejected what when (on the codings' new ids)
        assert memo.created == "2026-01-02T03:04:05+00:00"
        assert anon.codebook_versions() == old_versions
        (decision,) = old_decisions
        assert decision["by"] == "anna" and decision["new_status"] == "rejected"
        assert anon.decisions() == [{**decision, "coding_id": new[4].id}]
        assert new[4].status == "rejected"
        book = anon.codebook
        assert book.get("places").definition == "Streets like Place 1."
        assert book.get("places").examples == ("Near the Place 2.",)
    # no real name anywhere in the new file
    data = out.read_bytes()
    for name in REAL_NAMES:
        assert not re.search(rb"\b" + name.encode() + rb"\b", data), name
    # the key holds them all, with counts
    with key.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    by_real = {r["real"]: r for r in rows}
    assert by_real["Tom Baker"]["pseudonym"] == "Person 2"
    assert by_real["Tom Baker"]["mentions"] == "3"
    assert by_real["Tom"]["alias_of"] == "Tom Baker"
    assert by_real["int01_sarah"] == {"real": "int01_sarah", "pseudonym": "int01_person_1",
                                      "type": "document id", "mentions": "", "documents": "",
                                      "sources": "", "alias_of": ""}
    assert not list(tmp_path.glob(".*.tmp*"))


def test_user_pseudonyms_deny_list_and_parts(study: Path, tmp_path: Path) -> None:
    names = NameList({"Tom Baker": "Kate Brown", "Hollins Road": None}, frozenset({"Beacon"}))
    proposal = Pseudonymiser(names=names, ner=fake_ner).propose(study)
    by_real = {n.real: n for n in proposal.names}
    assert by_real["Tom Baker"].pseudonym == "Kate Brown"
    assert (by_real["Tom"].pseudonym, by_real["Baker"].pseudonym) == ("Kate", "Brown")
    assert "Beacon" not in by_real and "Beacon" in proposal.kept
    assert proposal.pseudonymise("Tom's mum met Mrs Baker on Hollins Road near the Beacon") == (
        "Kate's mum met Mrs Brown on Place 1 near the Beacon")


def test_without_ner_speakers_attributes_and_the_list_still_count(study: Path) -> None:
    names = NameList({"Beacon": "Place 9"})
    proposal = Pseudonymiser(ner=False, capitalised=False, names=names).propose(study)
    assert {n.real for n in proposal.names} >= {"Sarah", "Tom Baker", "Tom", "Baker",
                                                 "Oakview Academy", "Oakview", "Beacon"}
    assert proposal.pseudonymise("the Beacon") == "the Place 9"
    assert "Hollins Road" not in {n.real for n in proposal.names}  # only finders knew it
    # capitalised phrases ending in a street word are found without the recogniser
    found = {n.real: n for n in anonymise(study, ner=False, names=names).proposal.names}
    assert found["Hollins Road"].sources == ("capitalised",)
    assert found["Hollins Road"].type == "place"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("I rang Connor about it.", ["Connor"]),
        ("Connor said nothing.", ["Connor"]),  # a name even opening a sentence
        ("Ivy Barraclough was there.", ["Ivy Barraclough"]),
        ("We parked on Greaves Street and walked up.", ["Greaves Street"]),
        ("He's at Fernlea Children's Centre now.", ["Fernlea Children's Centre"]),
        ("Mrs Kowalski rang.", ["Kowalski"]),
        ("Meanwhile Nadia waited.", ["Nadia"]),
        ("Attendance was poor on Mondays and Tuesdays.", []),
        ("The Head of School said so.", []),
        ("We saw Aisha and Leon.", ["Aisha", "Leon"]),
        ("Honestly, I'm not sure. However I went.", []),
        ("The DSLs and the SENCo met the British family.", []),
    ],
)
def test_capitalised_names(text: str, names: list[str]) -> None:
    from qualcode.privacy import _capitalised_names, _frequencies

    stats = _WordStats([text, "the head teacher left", "nadia"[:0]])
    frequencies = _frequencies(re.findall(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*", text))
    assert frequencies is not None
    found = [real for real, _ in _capitalised_names(text, stats, frequencies,
                                                     {"Nadia"}.__contains__)
             if _skip_reason(real, stats, acronyms=False) is None]
    assert found == names


def test_review_writes_a_names_list_that_gives_the_same_pseudonyms(study: Path) -> None:
    result = anonymise(study, ner=fake_ner, write_names=True)
    names_file = Path(result.names_file)
    assert names_file == study.with_name("study.names.txt")
    listed = load_name_list(names_file)
    assert listed.replace["Hollins Road"] == "Place 1"
    assert "# Mum" in names_file.read_text(encoding="utf-8")  # skipped, to uncomment
    again = anonymise(study, ner=fake_ner, names=names_file).proposal
    assert [(n.real, n.pseudonym) for n in again.names] == [
        (n.real, n.pseudonym) for n in result.proposal.names]
    # a second review adds only what the list lacks; the researcher's edits stay
    names_file.write_text("!Beacon\nTom Baker = Kate Brown\n", encoding="utf-8")
    anonymise(study, ner=fake_ner, names=names_file, write_names=True)
    text = names_file.read_text(encoding="utf-8")
    assert text.startswith("!Beacon\nTom Baker = Kate Brown\n# Added by review:\n")
    assert "Beacon =" not in text and "Tom Baker =" not in text.split("review:")[1]


def test_apply_refuses_to_overwrite_or_touch_the_original(study: Path, tmp_path: Path) -> None:
    proposal = Pseudonymiser(ner=fake_ner).propose(study)
    with pytest.raises(ParameterError, match="original project"):
        proposal.apply(study, tmp_path / "k.csv")
    with pytest.raises(ParameterError, match="original project"):
        proposal.apply(tmp_path / "o.qualcode", study)
    with pytest.raises(ParameterError, match="two files"):
        proposal.apply(tmp_path / "same", tmp_path / "same")
    (tmp_path / "taken.qualcode").write_text("x")
    with pytest.raises(ProjectError, match="already exists"):
        proposal.apply(tmp_path / "taken.qualcode", tmp_path / "k.csv")
    assert not (tmp_path / "k.csv").exists()
    with pytest.raises(ProjectError, match="does not exist"):
        proposal.apply(tmp_path / "no" / "o.qualcode", tmp_path / "k.csv")
    result = proposal.apply(tmp_path / "taken.qualcode", tmp_path / "k.csv", overwrite=True)
    assert result.documents == 2


def test_a_stale_proposal_is_refused(study: Path, tmp_path: Path) -> None:
    proposal = Pseudonymiser(ner=fake_ner).propose(study)
    with Project.open(study) as project:
        project.add_corpus(Corpus((Document("late", "Sarah: hello"),), ()))
    with pytest.raises(ProjectError, match="changed since"):
        proposal.apply(tmp_path / "o.qualcode", tmp_path / "k.csv")


def test_parameters_are_checked(study: Path) -> None:
    with pytest.raises(ParameterError, match="'types' parameter"):
        Pseudonymiser(types=["people"]).propose(study)
    with pytest.raises(ParameterError, match="'ner' parameter"):
        Pseudonymiser(ner="spacy").propose(study)
    with pytest.raises(ParameterError, match="one list of entities per text"):
        Pseudonymiser(ner=lambda texts: []).propose(study)


def test_possessives_and_all_capital_speaker_labels(tmp_path: Path) -> None:
    path = tmp_path / "caps.qualcode"
    texts = {"d": "INTERVIEWER: Hi.\nJAMES: James' bike and James's coat.\nJAMES: Ok."}
    with Project.create(path) as project:
        project.add_corpus(corpus_of(texts, {}))
    proposal = Pseudonymiser(ner=False).propose(path)
    assert proposal.pseudonymise(texts["d"]) == (
        "INTERVIEWER: Hi.\nPerson 1: Person 1' bike and Person 1's coat.\nPerson 1: Ok.")


def test_accents_composed_or_decomposed_are_one_name(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Zoë")  # "Zoe" + U+0308, as macOS saves it
    path = tmp_path / "accents.qualcode"
    texts = {"a": "INTERVIEWER: Hi.\nZoë: I saw Bill.",
             "b": f"INTERVIEWER: And?\nBill: {decomposed} rang me."}
    with Project.create(path) as project:
        project.add_corpus(corpus_of(texts, {}))
    proposal = Pseudonymiser(ner=False, capitalised=False).propose(path)
    assert [(n.real, n.pseudonym, n.mentions) for n in proposal.names] == [
        ("Zoë", "Person 1", 2), ("Bill", "Person 2", 2)]
    assert proposal.pseudonymise(texts["b"]) == "INTERVIEWER: And?\nPerson 2: Person 1 rang me."
    listed = Pseudonymiser(ner=False, capitalised=False,
                           names=NameList({"Zoë": "Chloe"})).propose(path)
    assert listed.pseudonymise(f"I saw {decomposed}, {decomposed}'s mum.") == (
        "I saw Chloe, Chloe's mum.")
    out = tmp_path / "out.qualcode"
    proposal.apply(out, tmp_path / "key.csv")
    with Project.open(out) as anonymised:
        assert all("Zo" not in d.text and "\u0308" not in d.text
                   for d in anonymised.documents)
    assert _WORD.findall(f"{decomposed} rang") == [decomposed, "rang"]


def test_attributes_named_by_a_word_of_their_key(tmp_path: Path) -> None:
    path = tmp_path / "attributes.qualcode"
    texts = {"a": "INTERVIEWER: Hi.\nSarah: We went round."}
    attributes = {"a": {"participant_name": "Sarah Whitfield", "School name": "Oakview Academy",
                        "role": "Teacher"}}
    with Project.create(path) as project:
        project.add_corpus(corpus_of(texts, attributes))
    proposal = Pseudonymiser(ner=False, capitalised=False).propose(path)
    kinds = {n.real: n.type for n in proposal.names}
    assert kinds["Sarah Whitfield"] == "person" and kinds["Oakview Academy"] == "organisation"
    out = tmp_path / "out.qualcode"
    proposal.apply(out, tmp_path / "key.csv")
    with Project.open(out) as anonymised:
        assert dict(next(iter(anonymised.documents)).attributes) == {
            "participant_name": "Person 1", "School name": "Organisation 1", "role": "Teacher"}


# -- offsets through edits: a property -----------------------------------------------------
@st.composite
def texts_with_edits(draw):
    words = draw(st.lists(st.sampled_from(["a", "bb", "Sarah", "Jo", "x y", "\n"]),
                          min_size=1, max_size=30))
    text = " ".join(words)
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=10)))
    edits = []
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if start < end:
            edits.append((start, end, draw(st.sampled_from(["Person 1", "P", "Place 22"]))))
    s = draw(st.integers(0, len(text)))
    e = draw(st.integers(s, len(text)))
    return text, edits, s, e


@settings(max_examples=300, deadline=None)
@given(texts_with_edits())
def test_offsets_keep_the_same_words_through_any_edits(case) -> None:
    text, edits, start, end = case
    new_text = _edit(text, edits)
    mapping = _OffsetMap(edits)
    new_start, new_end = mapping.span(start, end)
    assert 0 <= new_start <= new_end <= len(new_text)

    def inside(p: int) -> bool:
        return any(s < p < e for s, e, _ in edits)

    if start == end:
        assert new_start == new_end
    elif not inside(start) and not inside(end):
        local = [(s - start, e - start, r) for s, e, r in edits if start <= s and e <= end]
        assert new_text[new_start:new_end] == _edit(text[start:end], local)
    else:  # a boundary inside a name moves outwards: the span holds whole pseudonyms
        for s, e, r in edits:
            if s < start < e:
                assert new_text[new_start:new_start + len(r)] == r
            if s < end < e:
                assert new_text[new_end - len(r):new_end] == r


# -- the command line ----------------------------------------------------------------------


def test_cli_review_then_apply(study: Path, tmp_path: Path, capsys) -> None:
    names = tmp_path / "names.txt"
    code, out, err = run(capsys, "anonymise", str(study), "--no-ner", "--review",
                         "--names", str(names))
    assert code == 0, err
    assert "Nothing was changed" in out and names.is_file()
    assert "Person 1" in out and "Tom Baker" in out
    assert not study.with_name("study.anonymised.qualcode").exists()
    code, out, err = run(capsys, "anonymise", str(study), "--no-ner", "--names", str(names),
                         "--apply", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["applied"] and data["out"].endswith("study.anonymised.qualcode")
    assert data["key"].endswith("study.pseudonym-key.csv")
    assert Path(data["out"]).is_file() and Path(data["key"]).is_file()
    # a second apply does not overwrite without --force: exit code 5, no traceback
    code, out, err = run(capsys, "anonymise", str(study), "--no-ner", "--apply")
    assert code == 5 and "already exists" in err and "Traceback" not in err
    code, _, err = run(capsys, "anonymise", str(study), "--no-ner", "--apply", "--force")
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--review", "--apply"], 2, "one after the other"),
        (["--names", "{tmp}/missing.txt"], 3, "No such names file"),
        (["--out", "{project}", "--apply"], 2, "original project"),
    ],
)
def test_cli_errors(study: Path, tmp_path: Path, capsys, args, exit_code, message) -> None:
    args = [a.format(tmp=tmp_path, project=study) for a in args]
    code, _, err = run(capsys, "anonymise", str(study), "--no-ner", *args)
    assert code == exit_code and message in err and "Traceback" not in err


# -- the real recogniser -------------------------------------------------------------------
@pytest.mark.slow
def test_spacy_finds_people_places_and_organisations(tmp_path: Path) -> None:
    path = tmp_path / "ner.qualcode"
    text = ("INTERVIEWER: Who was there?\n"
            "Anna: I went round with Sarah Jones from Barclays to a flat in Manchester. "
            "Sarah said the family had moved from Leeds. Mum was at work.")
    with Project.create(path) as project:
        project.add_corpus(corpus_of({"d": text}, {}))
    proposal = Pseudonymiser().propose(path)
    anon = proposal.pseudonymise(text)
    for name in ("Anna", "Sarah", "Jones", "Manchester", "Leeds"):
        assert name not in anon, anon
    assert "Mum was at work" in anon
    types = {n.real: n.type for n in proposal.names}
    assert types["Sarah Jones"] == "person" and types["Manchester"] == "place"


def test_punctuation_inside_an_entity_separates_names(tmp_path: Path) -> None:
    path = tmp_path / "comma.qualcode"
    text = "INTERVIEWER: Who was in?\nAnna: Dad, Ruby, was at work. Dad came home later."
    with Project.create(path) as project:
        project.add_corpus(corpus_of({"d": text}, {}))

    def ner(texts):  # a model that reads "Dad, Ruby" as one person
        return [[(m.start(), m.end(), "PERSON") for m in re.finditer("Dad, Ruby", t)]
                for t in texts]

    proposal = Pseudonymiser(ner=ner, capitalised=False).propose(path)
    assert {n.real for n in proposal.names} == {"Anna", "Ruby"}
    assert proposal.pseudonymise(text).endswith("Dad, Person 2, was at work. Dad came home later.")


def test_module_docstring_examples_are_marked_to_skip():
    # Its examples need a project on disk; unmarked, doctest runs them and fails.
    import doctest

    from qualcode import privacy

    finder = doctest.DocTestFinder(recurse=False)
    results = doctest.DocTestRunner(verbose=False).run(finder.find(privacy)[0], out=lambda _: None)
    assert results.failed == 0
