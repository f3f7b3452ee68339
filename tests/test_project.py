from __future__ import annotations

import dataclasses
import gc
import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from builders import make_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.errors import NotFoundError, ParameterError, ProjectError
from qualcode.model import Code, Codebook, Coding, Corpus, Document, Segment
from qualcode.project import MIGRATIONS, SCHEMA_VERSION, Project, attributes_json


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "s.qualcode"
    Project.create(path).close()
    with pytest.raises(ProjectError, match="already exists"):
        Project.create(path)
    Project.create(path, overwrite=True).close()


def test_open_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="No project at"):
        Project.open(tmp_path / "missing.qualcode")
    junk = tmp_path / "junk.qualcode"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(ProjectError, match="not a qualcode project"):
        Project.open(junk)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ProjectError, match="SQLite file but not a qualcode project"):
        Project.open(other)


def test_documents_segments_and_attributes_round_trip(project: Project) -> None:
    project.set_attributes("d1", {"setting": "Oakview"})
    project.close()
    with Project.open(project.path) as again:
        assert again.documents.ids == ["d1", "d2"]
        doc = again.documents["d1"]
        assert doc.attributes == {"setting": "Oakview"}
        segments = again.segments("d1")
        assert [s.text for s in segments] == [
            "Why did you visit?", "He was absent all week.", "Mum put the kettle on."]
        assert segments[1].speaker == "Anna" and segments[0].role == "interviewer"
        frame = again.documents.to_frame()
        assert list(frame["document"]) == ["d1", "d2"]
        assert frame.loc[0, "setting"] == "Oakview" and frame.loc[0, "segments"] == 3
        assert len(again.segments().to_frame()) == 5


def test_reingesting_the_same_text_is_a_no_op_and_changed_text_is_refused(
    project: Project,
) -> None:
    again = make_corpus({"d1": project.documents["d1"].text})
    assert project.add_corpus(again)["unchanged"] == ["d1"]
    changed = make_corpus({"d1": "Anna: different words"})
    with pytest.raises(ProjectError, match="different text"):
        project.add_corpus(changed)
    assert project.add_corpus(changed, replace=True)["replaced"] == ["d1"]
    assert project.segments("d1")[0].text == "different words"


def test_one_corpus_can_add_keep_and_replace_documents_at_once(project: Project) -> None:
    kept = project.segments("d2")
    corpus = make_corpus({"d3": "Anna: first new\nBen: second", "d1": "Anna: replaced",
                          "d2": project.documents["d2"].text, "d4": "Ben: last"})
    assert project.add_corpus(corpus, replace=True) == {
        "added": ["d3", "d4"], "unchanged": ["d2"], "replaced": ["d1"]}
    assert project.documents.ids == ["d2", "d3", "d1", "d4"]
    assert project.segments("d2") == kept
    assert [(s.document_id, s.index, s.text) for s in project.segments()] == [
        ("d2", 0, "Tell me more."), ("d2", 1, "We went because of attendance."),
        ("d3", 0, "first new"), ("d3", 1, "second"), ("d1", 0, "replaced"), ("d4", 0, "last"),
    ]


def test_replacing_a_coded_document_is_refused(project: Project) -> None:
    project.add_codings([Coding("d1", 0, 3, "attendance", "me")])
    with pytest.raises(ProjectError, match="has 1 codings"):
        project.add_corpus(make_corpus({"d1": "Anna: new"}), replace=True)


def test_codings_are_validated_filtered_and_framed(project: Project) -> None:
    segment = project.segments("d1")[1]
    ids = project.add_codings([
        Coding("d1", segment.start, segment.end, "attendance", "anna"),
        Coding("d2", 0, 5, "tea", "machine", method="rules", status="suggested",
               confidence=0.4, reason="matched 'kettle'"),
    ])
    assert len(ids) == 2
    assert len(project.codings(coder="anna")) == 1
    assert len(project.codings(status=["suggested", "rejected"])) == 1
    frame = project.codings().to_frame()
    assert frame.loc[0, "text"] == "He was absent all week."
    assert frame.loc[0, "theme"] == "visits"
    with pytest.raises(NotFoundError, match="did you mean 'd1'"):
        project.add_codings([Coding("d11", 0, 1, "tea", "me")])
    with pytest.raises(NotFoundError, match="not in the project's codebook: nope"):
        project.add_codings([Coding("d1", 0, 1, "nope", "me")])
    with pytest.raises(ParameterError, match="must satisfy"):
        project.add_codings([Coding("d1", 0, 10_000, "tea", "me")])
    with pytest.raises(ParameterError, match="status"):
        project.codings(status="maybe")


def test_a_rerun_never_overwrites_a_decision(project: Project) -> None:
    suggestion = Coding("d1", 0, 5, "tea", "rules", method="rules", status="suggested")
    (coding_id,) = project.add_codings([suggestion])
    assert project.reject(coding_id, by="anna") == 1
    assert project.add_codings([suggestion]) == []
    assert project.coding(coding_id).status == "rejected"
    assert project.decisions()[0]["by"] == "anna"


def test_recode_rejects_the_suggestion_and_stores_the_persons_coding(project: Project) -> None:
    (coding_id,) = project.add_codings(
        [Coding("d1", 0, 5, "tea", "rules", method="rules", status="suggested")])
    new_id = project.recode(coding_id, "attendance", by="anna")
    assert project.coding(coding_id).status == "rejected"
    new = project.coding(new_id)
    assert (new.code_id, new.coder, new.status) == ("attendance", "anna", "accepted")


def test_a_failed_write_leaves_nothing_behind(project: Project) -> None:
    good = Coding("d1", 0, 3, "tea", "me")
    bad_document = make_corpus({"d9": "Zed: fine"}).documents[0]
    # The second document's segment points past its text: the whole corpus is refused.
    broken = Corpus((bad_document, Document("d10", "xy")),
                    (*make_corpus({"d9": "Zed: fine"}).segments,
                     Segment("d10", 0, 2, "xy", kind="turn")))
    project._con.execute("CREATE TRIGGER boom BEFORE INSERT ON documents WHEN NEW.id = 'd10' "
                         "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(ProjectError, match=r"disk full.*nothing was changed"):
        project.add_corpus(broken)
    assert "d9" not in project.documents
    project.add_codings([good])
    assert len(project.codings()) == 1


def test_codebook_versions_are_kept(project: Project, small_codebook: Codebook) -> None:
    version = project.set_codebook(small_codebook.renamed("tea", "Tea"), note="renamed tea")
    assert version == 2
    assert project.codebook.get("tea").name == "Tea"
    assert project.codebook_version(1).get("tea").name == "Hospitality"
    assert [v["note"] for v in project.codebook_versions()] == ["initial codebook", "renamed tea"]
    with pytest.raises(NotFoundError):
        project.codebook_version(7)


def test_memos_and_info(project: Project) -> None:
    project.add_memo("Absence is the main trigger so far.", document="d1", author="anna")
    with pytest.raises(ParameterError, match="text"):
        project.add_memo("  ")
    info = project.info()
    assert info["documents"] == 2 and info["segments"] == 5
    assert info["speakers"] == {"INTERVIEWER": 2, "Anna": 2, "Ben": 1}
    assert info["codebook"]["codes"] == 2 and info["memos"] == 1
    assert project.memos()[0].document_id == "d1"


def test_embedding_cache_round_trip(project: Project) -> None:
    hashes = [f"h{i}" for i in range(1500)]  # more than SQLite's parameter limit per query
    project.store_embeddings("m", {h: h.encode() for h in hashes})
    found = project.cached_embeddings("m", hashes)
    assert len(found) == 1500 and found["h7"] == b"h7"
    assert project.cached_embeddings("other", hashes) == {}


def test_an_old_project_is_backed_up_then_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.qualcode"
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 1363365700")
    for statement in MIGRATIONS[1].split(";"):
        if statement.strip():
            con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('application', 'qualcode')")
    con.execute("INSERT INTO documents VALUES ('d', 0, 'text', 4, NULL, 'h', '{}', 'now')")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    with Project.open(path) as project:
        assert project.schema_version == SCHEMA_VERSION
        assert project.decisions() == []
        assert project.documents.ids == ["d"]
    backup = tmp_path / "old.qualcode.v1.bak"
    assert backup.is_file()
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == 1


def test_a_version_2_project_keeps_its_codings_and_gets_the_covering_index(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v2.qualcode"
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id = 1363365700")
    for version in (1, 2):
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('application', 'qualcode')")
    con.execute("INSERT INTO documents VALUES ('d', 0, 'some text', 9, NULL, 'h', '{}', 'now')")
    con.execute(
        "INSERT INTO codings (document_id, start, end, code_id, coder, method, confidence, "
        "status, reason, memo, created) VALUES ('d', 0, 4, 'c', 'ann', 'manual', 0.5, "
        "'accepted', 'why', 'memo', 'then')"
    )
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    with Project.open(path) as project:
        assert project.schema_version == SCHEMA_VERSION
        (coding,) = project.codings(code="c")
        assert coding == Coding("d", 0, 4, "c", "ann", method="manual", confidence=0.5,
                                reason="why", memo="memo", created="then", id=1)
        plan = project._con.execute(
            "EXPLAIN QUERY PLAN SELECT document_id, start, end, code_id, coder, method, "
            "confidence, status, reason, memo, created, id FROM codings WHERE code_id = ? "
            "ORDER BY id", ("c",)).fetchall()
    assert "COVERING INDEX codings_by_code_covering" in str(plan)
    assert "TEMP B-TREE" not in str(plan)  # rows come out of the index in id order


def test_codings_read_from_the_store_equal_the_codings_stored(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(make_corpus({"d": "Anna: We knocked and waited at the door."}))
        stored = [Coding("d", 0, 10, "knock", "ann", confidence=None, created="t1"),
                  Coding("d", 11, 21, "wait", "bot", method="rules", confidence=0.25,
                         status="suggested", reason="matched 'wait'", created="t2")]
        ids = project.add_codings(stored, check_codes=False)
        read = project.codings()
        assert list(read) == [replace(c, id=i) for c, i in zip(stored, ids, strict=True)]
        assert project.coding(ids[1]) == read[1]
        assert hash(read[0]) == hash(replace(stored[0], id=ids[0]))
        with pytest.raises(dataclasses.FrozenInstanceError):
            read[0].code_id = "other"  # type: ignore[misc]


def test_storing_a_corpus_gives_back_its_larger_page_cache(project: Project) -> None:
    """add_corpus writes with a larger SQLite page cache; the connection gets its own size
    back, after a failed write too."""
    def cache_size() -> int:
        return project._con.execute("PRAGMA cache_size").fetchone()[0]

    before = cache_size()
    project.add_corpus(make_corpus({"d3": "Anna: Another visit."}))
    assert cache_size() == before
    project._con.execute("CREATE TRIGGER boom BEFORE INSERT ON documents "
                         "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(ProjectError, match="disk full"):
        project.add_corpus(make_corpus({"d4": "Anna: And another."}))
    assert cache_size() == before
    assert "d3" in project.documents and "d4" not in project.documents


def test_bulk_reads_restore_the_garbage_collector(project: Project) -> None:
    """Codings and segments are built (and corpora stored) with the collector paused; its
    state comes back."""
    project.add_codings([Coding("d1", 0, 5, "c1", "ann")], check_codes=False)
    assert gc.isenabled()
    project.add_corpus(make_corpus({"d3": "Anna: Another visit."}))
    assert gc.isenabled()
    assert len(project.codings()) == 1 and len(project.segments()) > 0
    assert gc.isenabled()
    gc.disable()
    try:
        project.codings()
        project.segments()
        project.add_corpus(make_corpus({"d4": "Anna: And another."}))
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("attributes", [
    {},
    {"setting": "Oakview"},
    {"Ort": "Köln", "emoji": "😀", "quote": 'say "hi"', "slash": "a\\b/c"},
    {"controls": "tab\there\nline\x01\x1f\x7f", "separators": "\u2028\u2029", "nul": "\x00"},
    {"wave": 2, "score": 1.5, "missing": None, "flag": True},  # not strings: json.dumps
    {1: "numbered key"},
    {"list": ["a", "b"]},
])
def test_attributes_are_stored_as_json_dumps_writes_them(attributes: dict) -> None:
    expected = json.dumps(attributes, ensure_ascii=False)
    assert attributes_json(attributes) == expected
    assert attributes_json(Document("d", "t", attributes).attributes) == expected


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text(), st.text() | st.integers() | st.none(), max_size=5))
def test_any_attributes_are_stored_as_json_dumps_writes_them(attributes: dict) -> None:
    assert attributes_json(attributes) == json.dumps(attributes, ensure_ascii=False)


@pytest.mark.parametrize("spans", [
    # (start, end, speaker, role, start_time, end_time)
    [(6, 18, "Anna", "interviewer", 1.0, 2.5), (24, 27, None, "participant", None, None),
     (34, 38, None, None, None, 4.0), (44, 47, "Bob", None, 5.0, None)],
    [(6, 18, None, "participant", None, None), (24, 27, None, "participant", None, None)],
    [(6, 18, None, None, None, None), (24, 27, "", None, 0.0, None)],
])
def test_segments_are_stored_in_order_with_missing_values_as_null(
    tmp_path: Path, spans: list[tuple]
) -> None:
    document = Document("d", "Anna: Hello there. Bob: Hi. Anna: Bye. Bob: Ok.")
    segments = tuple(Segment.of(document, start, end, index=i, speaker=speaker, role=role,
                                start_time=t0, end_time=t1)
                     for i, (start, end, speaker, role, t0, t1) in enumerate(spans))
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(Corpus((document,), segments))
        assert list(project.segments("d")) == list(segments)
        rows = project._con.execute(
            "SELECT document_id, kind, idx, start, end, speaker, role, start_time, end_time "
            "FROM segments ORDER BY rowid").fetchall()
    assert rows == [(s.document_id, s.kind, s.index, s.start, s.end, s.speaker, s.role,
                     s.start_time, s.end_time) for s in segments]


def test_segments_of_documents_not_stored_are_left_out(tmp_path: Path) -> None:
    corpus = make_corpus({"d1": "Anna: We knocked.", "d2": "Bob: Nobody came."})
    stray = Segment.of(Document("elsewhere", "Anna: Hello."), 6, 12)
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(Corpus(corpus.documents[:1], corpus.segments))
        project.add_corpus(Corpus(corpus.documents, (*corpus.segments, stray)))
        assert [s.document_id for s in project.segments()] == ["d1", "d2"]
        assert project.documents.ids == ["d1", "d2"]


def test_a_newer_project_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.qualcode"
    Project.create(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(ProjectError, match="newer qualcode"):
        Project.open(path)


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
    min_size=1, max_size=40,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(texts, min_size=1, max_size=4), st.data())
def test_store_round_trip_keeps_every_span(tmp_path_factory, bodies, data) -> None:
    path = tmp_path_factory.mktemp("rt") / "p.qualcode"
    book = Codebook("b", (Code("c"),))
    documents = tuple(Document(f"d{i}", body) for i, body in enumerate(bodies))
    codings = []
    for doc in documents:
        start = data.draw(st.integers(0, len(doc.text)))
        end = data.draw(st.integers(start, len(doc.text)))
        codings.append(Coding(doc.id, start, end, "c", "me"))
    with Project.create(path, codebook=book) as project:
        project.add_corpus(Corpus(documents, ()))
        project.add_codings(codings)
    with Project.open(path) as project:
        assert [d.text for d in project.documents] == list(bodies)
        frame = project.codings().to_frame()
        expected = [doc.text[c.start:c.end] for doc, c in zip(documents, codings, strict=True)]
        assert list(frame["text"]) == expected


def test_copied_decisions_keep_their_time_and_name_known_codings(tmp_path: Path) -> None:
    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(make_corpus({"d": "Anna: We knocked and waited."}))
        (coding_id,) = project.add_codings([Coding("d", 6, 16, "knock", "bot",
                                                   status="rejected")], check_codes=False)
        decision = {"coding_id": coding_id, "old_status": "suggested",
                    "new_status": "rejected", "by": "anna", "at": "2026-01-02T03:04:05+00:00"}
        assert project.copy_decisions([decision]) == 1
        assert project.decisions() == [decision]
        with pytest.raises(NotFoundError, match="No coding with id 99"):
            project.copy_decisions([{**decision, "coding_id": 99}])
        with pytest.raises(ParameterError, match="'maybe'"):
            project.copy_decisions([{**decision, "new_status": "maybe"}])
        assert project.decisions() == [decision]  # a refused batch adds nothing


def test_codings_on_more_documents_than_one_query_names(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # add_codings reads the lengths of only the documents it is given, a few per query
    import qualcode.project as project_module

    monkeypatch.setattr(project_module, "_IN_LIMIT", 7)
    documents = tuple(Document(f"d{i}", f"Text number {i}.") for i in range(30))
    book = Codebook("b", (Code("tea"),))
    with Project.create(tmp_path / "p.qualcode", codebook=book) as project:
        project.add_corpus(Corpus(documents, ()))
        ids = project.add_codings([Coding(d.id, 0, len(d.text), "tea", "me") for d in documents])
        assert len(ids) == 30
        with pytest.raises(ParameterError, match="must satisfy"):  # 15 characters long
            project.add_codings([Coding(f"d{i}", 0, 16, "tea", "you") for i in range(25, 30)])
        with pytest.raises(NotFoundError, match="did you mean"):
            project.add_codings([Coding(f"d{i}", 0, 4, "tea", "you") for i in range(25, 31)])
