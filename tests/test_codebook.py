from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BUNDLED_CODEBOOK
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.codebook import (
    diff_codebooks,
    load_codebook,
    save_codebook,
    slugify,
    validate_codebook,
)
from qualcode.errors import CodebookError
from qualcode.model import Code, Codebook

GOOD = """\
name: Small
version: 3
themes:
  - id: triggers
    name: Triggers
    definition: Why visits happen.
    codes:
      - id: attendance
        definition: Absence.
        examples: ["He was not in."]
        keywords: [absent, "not in school"]
        patterns: ['\\babsen(t|ce)\\b']
      - name: Money worries
        definition: Money.
        examples: ["No food in."]
"""


def write(tmp_path: Path, text: str, name: str = "book.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_codebook_loads_with_nesting_and_derived_ids(tmp_path: Path) -> None:
    book = load_codebook(write(tmp_path, GOOD))
    assert (book.name, book.version) == ("Small", 3)
    assert [c.id for c in book] == ["triggers", "attendance", "money_worries"]
    assert book.get("money_worries").parent == "triggers"
    assert book.get("attendance").keywords == ("absent", "not in school")


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("name: x\nthemes:\n  - id: a\n    definiton: typo\n", 4, "definiton",
         "Unknown field 'definiton'. Did you mean 'definition'?"),
        ("name: x\nthemes:\n  - id: a\n    definition: d\n  - id: a\n    definition: d\n", 5,
         "id", "Code id 'a' is used twice (first at line 3)"),
        ("name: x\nthemes:\n  - id: a\n    color: red\n", 4, "color", "hex colour"),
        ("name: x\nthemes:\n  - id: a\n    patterns: ['(unclosed']\n", 4, "patterns",
         "not a valid regular expression"),
        ("name: x\nthemes:\n  - id: a\n    examples: {x: 1}\n", 4, "examples",
         "must be a list of text"),
        ("name: x\nthemz:\n  - id: a\n", 2, "themz", "Did you mean 'themes'?"),
        ("name: x\nthemes:\n  - definition: no id or name\n", 3, "id", "needs an 'id' or a 'name'"),
        ("name: x\nthemes:\n  - id: a\n    codes: [oops]\n", 4, None, "must be a mapping"),
        ("name: x\nversion: two\nthemes: []\n", 2, "version", "whole number"),
        ("name: x\nthemes:\n  - id: has space\n", 3, "id", "code id must start"),
        ("name: [unclosed\n", 2, None, "not valid YAML"),
        ("x: &a [1]\ny: *a\n", 1, None, "anchors and aliases"),
    ],
)
def test_errors_name_the_file_line_and_field(
    tmp_path: Path, text: str, line: int, field: str | None, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CodebookError) as caught:
        load_codebook(path)
    error = caught.value
    assert message in str(error)
    assert str(path) in str(error)
    assert error.line == line
    assert error.field == field


def test_missing_empty_and_binary_files(tmp_path: Path) -> None:
    with pytest.raises(CodebookError, match="No such codebook file"):
        load_codebook(tmp_path / "none.yaml")
    with pytest.raises(CodebookError, match="empty"):
        load_codebook(write(tmp_path, ""))
    binary = tmp_path / "x.yaml"
    binary.write_bytes(b"\x89PNG\x00\x00\x01")
    with pytest.raises(CodebookError, match="binary"):
        load_codebook(binary)
    with pytest.raises(CodebookError, match="Unknown codebook format"):
        load_codebook(write(tmp_path, "x", "book.json"))


def test_validate_lists_warnings_for_empty_definitions(tmp_path: Path) -> None:
    problems = validate_codebook(write(tmp_path, "name: x\nthemes:\n  - id: a\n"))
    assert [(p.severity, p.field, p.line) for p in problems] == [("warning", "definition", 3)]
    assert "empty definition" in str(problems[0])


def test_deeply_nested_yaml_is_refused_cleanly(tmp_path: Path) -> None:
    deep = "name: x\nthemes:\n" + "".join(
        f"{'  ' * (2 * i + 1)}- id: c{i}\n{'  ' * (2 * i + 2)}codes:\n" for i in range(60))
    with pytest.raises(CodebookError, match="nested more than 64 levels") as caught:
        load_codebook(write(tmp_path, deep))
    assert caught.value.line == 66  # the line where the 65th level opens
    # refused before PyYAML reads it (which takes a minute for 50,000 brackets)
    with pytest.raises(CodebookError, match="nested more than 64 levels") as caught:
        load_codebook(write(tmp_path, "codes: " + "[" * 50_000 + "]" * 50_000))
    assert caught.value.line == 1


def test_brackets_in_text_and_ordinary_nesting_are_not_too_deep(tmp_path: Path) -> None:
    text = ("name: x\nthemes:\n  - id: t\n    codes:\n      - id: a\n"
            "        definition: 'Quotes with [sic] and {braces}, [[twice]].'\n"
            "        examples: [\"one [1]\", \"two\"]\n")
    book = load_codebook(write(tmp_path, text))
    assert book.get("a").examples == ("one [1]", "two")


def test_bundled_codebook_is_valid_and_complete() -> None:
    book = load_codebook(BUNDLED_CODEBOOK)
    assert [t.id for t in book.themes] == [
        "triggers", "risk_and_safety", "thresholds", "atmospheres", "job_crafting"]
    assert 20 <= len(book.leaves()) <= 40
    assert all(c.definition and c.examples and c.keywords for c in book.leaves())
    assert validate_codebook(BUNDLED_CODEBOOK) == []


def test_csv_codebooks_from_the_shared_study(shared_data: Path) -> None:
    final = load_codebook(shared_data / "swj2022-usability/codebooks/codebook_20220303_8.csv")
    assert len(final) == 22
    assert final.get("moderator_assist").definition.startswith("The moderator intervenes")
    first = load_codebook(shared_data / "swj2022-usability/codebooks/codebook_20220223_0.csv")
    assert len(first) == 120
    changes = diff_codebooks(first, final)
    assert len(changes.added) + len(changes.id_changed) > 0 and changes.removed


def test_csv_codebook_with_themes_and_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "theme,code,definition,keywords\nT1,Alpha,first,a|b\nT1,Beta,,\n",
                 "b.csv")
    book = load_codebook(path)
    assert book.get("alpha").parent == "t1" and book.get("alpha").keywords == ("a", "b")
    assert [(p.severity, p.line) for p in validate_codebook(path)] == [("warning", 3)]
    dup = write(tmp_path, "name,definition\nA,x\nA,y\n", "d.csv")
    with pytest.raises(CodebookError, match="appears twice") as caught:
        load_codebook(dup)
    assert caught.value.line == 3
    with pytest.raises(CodebookError, match="No name column"):
        load_codebook(write(tmp_path, "foo,bar\n1,2\n", "e.csv"))


def test_save_then_load_gives_back_the_same_codebook(tmp_path: Path) -> None:
    book = load_codebook(BUNDLED_CODEBOOK)
    assert load_codebook(save_codebook(book, tmp_path / "copy.yaml")) == book
    with pytest.raises(CodebookError, match="exists"):
        save_codebook(book, tmp_path / "copy.yaml")


ids = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@settings(max_examples=40, deadline=None)
@given(st.lists(ids, min_size=1, max_size=6, unique=True), words, st.data())
def test_yaml_round_trip_property(tmp_path_factory, code_ids, text, data) -> None:
    codes = []
    for i, code_id in enumerate(code_ids):
        parent = data.draw(st.sampled_from([None, *code_ids[:i]])) if i else None
        codes.append(Code(code_id, name=f"{code_id} {text}".strip(), parent=parent,
                          definition=text.strip(), examples=(text.strip(),) if text.strip()
                          else (), keywords=("k",)))
    # save_codebook writes children under their parent, so order the expected codes that way
    book = Codebook("b", tuple(codes))
    path = save_codebook(book, tmp_path_factory.mktemp("cb") / "b.yaml")
    loaded = load_codebook(path)
    assert {c.id: c for c in loaded} == {c.id: c for c in book}


def test_diff_reports_each_kind_of_change() -> None:
    old = Codebook("b", (Code("t"), Code("a", name="A", parent="t", definition="one"),
                         Code("gone"), Code("old_id", name="Same", definition="d")))
    new = Codebook("b", (Code("t"), Code("u"), Code("a", name="Alpha", parent="u",
                                                   definition="two"),
                         Code("new_id", name="Same", definition="d")))
    changes = diff_codebooks(old, new)
    assert changes.added == ("u",) and changes.removed == ("gone",)
    assert changes.renamed == (("a", "A", "Alpha"),)
    assert changes.redefined == ("a",) and changes.moved == (("a", "t", "u"),)
    assert changes.id_changed == (("old_id", "new_id"),)
    assert not diff_codebooks(old, old)


@pytest.mark.parametrize(("name", "slug"), [("Poor or no attendance", "poor_or_no_attendance"),
                                            ("Café—visits!", "cafe_visits"), ("???", "code")])
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_a_missing_grandparent_is_a_codebook_error_not_a_key_error() -> None:
    # The child comes first, so the walk up from it reaches the missing code.
    with pytest.raises(CodebookError, match="names parent 'z', which is not in the codebook"):
        Codebook("b", (Code("x", parent="y"), Code("y", parent="z")))


def test_csv_parent_cycles_name_their_row_and_validate_lists_every_problem(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "id,name,definition,parent\na,A,x,b\nb,B,y,a\na,A2,z,\n"
                 "c,C,w,d\nd,D,v,c\n", "cycles.csv")
    problems = validate_codebook(path)
    assert [(p.line, p.field, p.code) for p in problems] == [
        (4, "id", "a"), (2, "parent", "a"), (5, "parent", "c")]
    assert "Codes form a cycle: a -> b -> a; give one of them another parent" in str(
        problems[1])
    with pytest.raises(CodebookError, match="cycle") as caught:
        load_codebook(write(tmp_path, "id,name,parent\na,A,b\nb,B,a\n", "cycle.csv"))
    assert (caught.value.line, caught.value.field) == (2, "parent")


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("book.yaml", "name: x\nthemes:\n  - id: a\n    definition: d\n"
         "    keywords: absent, late, not in school\n", 5, "'keywords' is one text"),
        ("book.csv", "name,definition,keywords\nA,x,\"absent, late\"\n", 2,
         "separated by '|' or ';', not commas: write 'absent|late'"),
    ],
)
def test_keywords_given_as_one_comma_separated_text_are_an_error(
    tmp_path: Path, name: str, text: str, line: int, message: str
) -> None:
    with pytest.raises(CodebookError, match=message) as caught:
        load_codebook(write(tmp_path, text, name))
    assert (caught.value.line, caught.value.field) == (line, "keywords")
    # one keyword, and lists, stay as they were
    book = load_codebook(write(tmp_path, "name: x\nthemes:\n  - id: a\n    keywords: absent\n"
                               "  - id: b\n    keywords: [absent, late]\n"))
    assert book.get("a").keywords == ("absent",) and book.get("b").keywords == ("absent", "late")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: x\nthemes:\n  - id: a\n\tdefinition: d\n", 4),
        ("name: x\nthemes:\n\t- id: a\n", 3),
        ("name: x\nthemes:\n  - id: a\n    definition:\td\n", 4),
    ],
)
def test_tabs_in_yaml_say_to_use_spaces(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(CodebookError, match="tab where YAML allows only spaces") as caught:
        load_codebook(write(tmp_path, text))
    assert caught.value.line == line
    # a tab inside quoted text is fine
    book = load_codebook(write(tmp_path, 'name: x\nthemes:\n  - id: a\n    definition: "a\tb"\n'))
    assert book.get("a").definition == "a\tb"


def test_diff_does_not_move_the_codes_of_a_theme_whose_id_changed() -> None:
    old = Codebook("b", (Code("triggers", name="Triggers"), Code("attendance", parent="triggers"),
                         Code("illness", parent="triggers")))
    new = Codebook("b", (Code("reasons", name="Triggers"), Code("attendance", parent="reasons"),
                         Code("illness")))
    changes = diff_codebooks(old, new)
    assert changes.id_changed == (("triggers", "reasons"),)
    assert changes.moved == (("illness", "triggers", None),)
