"""Coded excerpts: merging, filters, ranking and caps, attributions, context, trimming, and
every output format read back (Markdown, HTML, LaTeX, DOCX, CSV, XLSX)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from export_builders import CODEBOOK, TEXTS, build_project, span
from hypothesis import given
from hypothesis import strategies as st

from qualcode.errors import NotFoundError, ParameterError
from qualcode.export._common import MergedSpan, SpanIndex, safe_colour
from qualcode.export.excerpts import (
    ELLIPSIS,
    centrality,
    excerpts,
    export_excerpts,
    latex_escape,
    render_attribution,
    trim_end,
    trim_start,
)
from qualcode.model import Code, Codebook, Coding, Document
from qualcode.project import Project


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: the exports only read it (outputs go to each test's tmp_path)."""
    return build_project(tmp_path_factory.mktemp("export") / "study.qualcode")


def quotes(result, code: str | None = None) -> list[str]:
    return [e.quote for e in result if code is None or e.code == code]


# -- merging, grouping, counts ----------------------------------------------------------------
def test_overlapping_codings_of_one_code_become_one_excerpt(study: Path) -> None:
    result = excerpts(study)
    merged = next(e for e in result if e.code == "attendance" and e.document == "d1")
    start, _ = span("d1", "He was absent all week.")
    _, end = span("d1", "the door was shut.")
    assert (merged.start, merged.end) == (start, end)
    assert merged.text == TEXTS["d1"][start:end]
    assert merged.coders == ("alice", "bob") and len(merged.codings) == 2
    streets = [e for e in result if e.code == "streets"]
    assert len(streets) == 1 and streets[0].quote.startswith("…pairs. The Beacon")


def test_grouped_by_theme_then_code_in_codebook_order(study: Path) -> None:
    result = excerpts(study)
    assert [e.code for e in result] == ["attendance"] * 3 + ["tea"] * 2 + ["pairs"] * 2 + [
        "streets"]
    assert [(t, [c.code for c, _ in codes]) for t, _, codes in result.groups()] == [
        ("visits", ["attendance", "tea"]), ("safety", ["pairs", "streets"])]
    counts = {c.code: (c.excerpts, c.interviews, c.shown) for c in result.counts}
    assert counts == {"attendance": (3, 2, 3), "tea": (2, 2, 2), "pairs": (2, 2, 2),
                      "streets": (1, 1, 1), "unused": (0, 0, 0)}
    assert result.interviews == 3 and result.documents == 3


def test_accepted_only_by_default_and_other_statuses_on_request(study: Path) -> None:
    assert not any("Her tea" in q for q in quotes(excerpts(study)))
    suggested = excerpts(study, status="suggested")
    assert quotes(suggested) == ["Her tea <was> strong & sweet."]
    everything = excerpts(study, status="all")
    assert "We went round on Monday…" in quotes(everything, "pairs")  # the rejected one


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"codes": ["tea"]}, {("tea", "d1"), ("tea", "d3")}),
        ({"codes": "Hospitality"}, {("tea", "d1"), ("tea", "d3")}),  # by name
        ({"themes": "safety"}, {("pairs", "d2"), ("pairs", "d3"), ("streets", "d2")}),
        ({"codes": "tea", "themes": "safety"},
         {("tea", "d1"), ("tea", "d3"), ("pairs", "d2"), ("pairs", "d3"), ("streets", "d2")}),
        ({"attributes": {"setting": "Broadtown"}},
         {("attendance", "d2"), ("pairs", "d2"), ("streets", "d2")}),
        ({"attributes": {"setting": ["broadtown", "Oakview"], "role": "Head of School"}},
         {("attendance", "d2"), ("pairs", "d2"), ("streets", "d2")}),
        ({"coder": "bob"}, {("attendance", "d1"), ("streets", "d2")}),
        ({"documents": ["d3"]}, {("pairs", "d3"), ("tea", "d3")}),
    ],
)
def test_filters(study: Path, filters: dict, expected: set) -> None:
    result = excerpts(study, **filters)
    assert {(e.code, e.document) for e in result} == expected


def test_filters_are_named_in_the_header(study: Path) -> None:
    result = excerpts(study, themes="safety", attributes={"setting": "Oakview"}, coder="alice")
    assert result.filters == {"setting": "Oakview", "status": "accepted", "coder": "alice",
                              "themes": "safety"}
    text = result.to_markdown()
    assert "setting: Oakview" in text and "themes: safety" in text


@pytest.mark.parametrize(
    ("filters", "error", "message"),
    [
        ({"attributes": {"site": "x"}}, ParameterError, "No document has the attribute 'site'"),
        ({"attributes": {"setting": "Oakvew"}}, ParameterError, "Values: Broadtown, Oakview"),
        ({"codes": "atendance"}, NotFoundError, "Did you mean 'attendance'"),
        ({"themes": "tea"}, ParameterError, "Pass it in 'codes'"),
        ({"coder": "carol"}, NotFoundError, "Coders: alice, bob, machine"),
        ({"status": "approved"}, ParameterError, "must be one of suggested, accepted"),
        ({"documents": ["d9"]}, NotFoundError, "No document 'd9'"),
        ({"context": 1, "context_chars": 10}, ParameterError, "not both"),
        ({"per_code": 0}, ParameterError, "'per_code' parameter of excerpts()"),
        ({"max_chars": 5}, ParameterError, "an integer >= 20"),
        ({"order": "random"}, ParameterError, "'order' parameter"),
        ({"template": "{speaker"}, ParameterError, "not valid"),
        ({"template": "{speaker.upper}"}, ParameterError, "plain names"),
        ({"template": "{setting} {room}"}, ParameterError, "{room}, which no document has"),
    ],
)
def test_bad_filters_say_what_exists(study: Path, filters: dict, error: type,
                                     message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        excerpts(study, **filters)


# -- ranking and caps -------------------------------------------------------------------------
def test_cap_keeps_the_most_representative_first(study: Path) -> None:
    result = excerpts(study, per_code=1)
    first = [e for e in result if e.code == "attendance"]
    assert len(first) == 1 and first[0].coders == ("alice", "bob")  # two coders agree
    assert {c.code: (c.excerpts, c.shown) for c in result.counts}["attendance"] == (3, 1)
    assert "3 excerpts from 2 interviews; 1 shown" in result.to_markdown()


def test_document_order_shows_the_chosen_in_text_order(study: Path) -> None:
    ranked = excerpts(study, codes="attendance")
    by_text = excerpts(study, codes="attendance", order="document")
    assert [e.rank for e in ranked] == [1, 2, 3]
    assert [(e.document, e.start) for e in by_text] == sorted(
        (e.document, e.start) for e in ranked)


def test_centrality_ranks_the_odd_one_out_last() -> None:
    document = Document("x", "kettle tea kettle. tea kettle cup. bailiffs at the door.")
    spans = [MergedSpan("x", "c", *bounds, []) for bounds in ((0, 18), (19, 33), (34, 55))]
    scores = centrality(spans, {"x": document})
    assert scores[spans[2].key] == 0.0
    assert scores[spans[0].key] > 0 and scores[spans[1].key] > 0
    assert centrality(spans, {"x": document}) == scores  # deterministic


# -- attributions -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("{speaker}, {setting}", {"speaker": "Anna", "setting": "Oakview"}, "Anna, Oakview"),
        ("{speaker}, {setting}", {"speaker": "Anna"}, "Anna"),
        ("{speaker}, {setting}", {"setting": "Oakview"}, "Oakview"),
        ("{speaker}, {role}, {setting}", {"speaker": "Anna", "setting": "Oakview"},
         "Anna, Oakview"),
        ("{speaker} ({role})", {"speaker": "Anna"}, "Anna"),
        ("{speaker}, {setting}", {"speaker": "Sarah, Ash Grove",
                                  "setting": "Ash Grove Academy"}, "Sarah, Ash Grove Academy"),
        ("{speaker}, {setting}", {"speaker": "Tom, Oakview", "setting": "Oakview"},
         "Tom, Oakview"),
        ("Interview {document}", {"document": "d1"}, "Interview d1"),
        ("{speaker}, {setting}", {}, ""),
    ],
)
def test_render_attribution(template: str, values: dict, expected: str) -> None:
    names = re.findall(r"{(\w+)}", template)
    assert render_attribution(template, names, values) == expected


def test_attributions_from_segments_and_case_attributes(study: Path) -> None:
    default = excerpts(study)
    assert {e.document: e.attribution for e in default} == {
        "d1": "Anna, Oakview", "d2": "Ben, Broadtown", "d3": "Cara, Oakview"}
    custom = excerpts(study, template="{speaker} ({phase}), {setting} [{document}]")
    assert {e.document: e.attribution for e in custom} == {
        "d1": "Anna (secondary), Oakview [d1]", "d2": "Ben (primary), Broadtown [d2]",
        "d3": "Cara, Oakview [d3]"}  # d3 has no phase: no KeyError, no empty brackets
    role = excerpts(study, template="{role}")
    # the case attribute 'role' wins over the turn's role; without it, the turn's
    assert {e.document: e.attribution for e in role}["d3"] == "participant"
    assert {e.document: e.attribution for e in role}["d1"] == "Teaching Assistant"


# -- context and trimming ---------------------------------------------------------------------
def test_sentence_context_stays_inside_the_turn(study: Path) -> None:
    result = excerpts(study, context=1, codes="tea")
    tea = next(e for e in result if e.document == "d1")
    assert tea.before == "We went round on Monday & the door was shut."
    assert tea.after == ""  # the turn ends there: nothing from the next turn
    first = next(e for e in excerpts(study, context=1, codes="pairs") if e.document == "d2")
    assert first.before == "" and first.after == "The Beacon estate is avoided after dark."
    md = result.to_markdown()
    assert "\\[*We went round on Monday \\& the door was shut.*\\]" in md
    assert '<span class="context">[We went round' in result.to_html()


def test_character_context_cuts_at_word_boundaries(study: Path) -> None:
    result = excerpts(study, context_chars=15, codes="tea")
    tea = next(e for e in result if e.document == "d3")
    assert tea.before == f"{ELLIPSIS}as always." and tea.after == f"Nobody was at{ELLIPSIS}"


def test_long_quotes_are_trimmed_with_an_ellipsis(study: Path) -> None:
    result = excerpts(study, max_chars=25)
    assert all(len(e.quote) <= 25 for e in result)
    merged = next(e for e in result if e.coders == ("alice", "bob"))
    assert merged.quote == f"He was absent all week.{ELLIPSIS}" and merged.trimmed


def test_quotes_that_stop_or_start_mid_sentence_are_marked(study: Path) -> None:
    pairs = quotes(excerpts(study, status="all"), "pairs")
    assert "We went round on Monday…" in pairs
    assert "We went round on Monday" in quotes(excerpts(study, status="all", ellipses=False))


@pytest.mark.parametrize("sentence", [
    "هل أنت من الخدمات الاجتماعية؟",  # Arabic question mark
    "کیا آپ سماجی کارکن ہیں۔",  # Urdu full stop
    "それは本当ですか。",
])
def test_a_complete_sentence_in_another_script_is_not_marked_as_cut(
        sentence: str, tmp_path: Path) -> None:
    from builders import make_corpus

    text = f"Amira: {sentence}"
    with Project.create(tmp_path / "rtl.qualcode") as project:
        project.add_corpus(make_corpus({"a": text}))
        project.add_codings([Coding("a", 7, len(text), "asked", coder="ann")])
        assert quotes(excerpts(project)) == [sentence]


@given(st.text(alphabet=st.sampled_from("ab cd,;\n"), min_size=0, max_size=200),
       st.integers(min_value=20, max_value=120))
def test_trim_end_keeps_a_word_boundary_prefix(text: str, limit: int) -> None:
    out = trim_end(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text
    else:
        kept = out.removesuffix(ELLIPSIS)
        assert out.endswith(ELLIPSIS) and text.startswith(kept)
        if re.search(r"\s", text[limit // 2: limit - 1]):
            assert text[len(kept)] in " \t\n,;:-–—"  # never inside a word


@given(st.text(alphabet=st.sampled_from("ab cd,\n"), min_size=0, max_size=200),
       st.integers(min_value=20, max_value=120))
def test_trim_start_keeps_a_suffix(text: str, limit: int) -> None:
    out = trim_start(text, limit)
    assert len(out) <= limit
    assert text.endswith(out.removeprefix(ELLIPSIS))


# -- formats ----------------------------------------------------------------------------------
def test_markdown_headings_counts_and_escaping(study: Path) -> None:
    text = excerpts(study, status="all").to_markdown()
    assert text.index("## Visits") < text.index("### Poor attendance") < text.index(
        "## Risk \\& safety") < text.index("### Going in pairs")
    assert "| Visits | Poor attendance | 3 | 2 | 3 |" in text
    assert "Her tea \\<was\\> strong \\& sweet." in text
    assert "attendance\\_rates {really} 😀" in text
    assert "> — Anna, Oakview" in text
    assert "> \\=1+2 was written" in text  # not a heading underline or list item


def test_indented_lines_of_a_markdown_quote_are_not_code_blocks(tmp_path: Path) -> None:
    from qualcode.model import Corpus, Segment

    # Transcripts from word processors often indent lines with tabs or spaces.
    text = "Ann: Okay, so not working.\n\n    \tMODERATOR: No problem.\n\t\tAh okay."
    document = Document("a", text)
    with Project.create(tmp_path / "tabs.qualcode") as project:
        project.add_corpus(Corpus((document,), (Segment.of(document, 5, len(text), index=0,
                                                           speaker="Ann"),)))
        project.add_codings([Coding("a", 5, len(text), "stuck", coder="ann")])
        markdown = excerpts(project).to_markdown()
    quote = [line for line in markdown.splitlines() if line.startswith(">")]
    assert quote[:4] == ["> Okay, so not working.", ">", "> MODERATOR: No problem.",
                         "> Ah okay."]


def test_html_is_escaped_standalone_and_coloured(study: Path, tmp_path: Path) -> None:
    path = export_excerpts(study, tmp_path / "quotes.html", status="all")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "Her tea &lt;was&gt; strong &amp; sweet." in page
    assert "Mum said &quot;come in&quot;" in page and "😀" in page
    assert "<was>" not in page and "Risk &amp; safety" in page
    assert '<section class="theme" style="--theme: #1b9e77">' in page
    fragment = excerpts(study)._repr_html_()
    assert "<!DOCTYPE" not in fragment and "<blockquote>" in fragment


@pytest.mark.parametrize(
    ("value", "expected"),
    [("#1B9E77", "#1b9e77"), ("#abc", "#aabbcc"), ("red", None),
     ("#1b9e77;}</style><script>", None), (None, None), ("", None)],
)
def test_only_plain_hex_colours_reach_css(value, expected) -> None:
    assert safe_colour(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"), ("_", r"\_"),
        ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"),
        ("^", r"\textasciicircum{}"), ("\\", r"\textbackslash{}"),
        ("<b>", r"\textless{}b\textgreater{}"),
        ('He said "go"', "He said ``go''"), ("'yes' it's", "`yes' it's"),
        ("“curly”", "``curly''"), ("wait…", r"wait\ldots{}"), ("café", "café"),
        ("smile 😀", "smile [grinning face]"), ("👍🏽", "{}[thumbs up sign][emoji modifier "
                                                         "fitzpatrick type-4]"),
        ("[laughs] yes", "{}[laughs] yes"),
        ("a\tb", "a b"), ("x\x07y", "xy"),
    ],
)
def test_latex_escape(text: str, expected: str) -> None:
    assert latex_escape(text) == expected


def test_latex_escape_can_keep_unicode_for_xelatex() -> None:
    assert latex_escape("😀 & 中文", unicode=True) == r"😀 \& 中文"


def test_latex_fragment_has_quote_environments_and_no_raw_specials(study: Path) -> None:
    text = excerpts(study, status="all", context=1).to_latex()
    bodies = re.findall(r"\\begin\{quote\}\n(.*?)\\end\{quote\}", text, flags=re.S)
    assert len(bodies) == len(excerpts(study, status="all"))
    for body in bodies:
        assert not re.search(r"(?<!\\)[%&_#$]", body), body
        assert body.count("{") - body.count("\\{") == body.count("}") - body.count("\\}")
    assert r"100\% about attendance\_rates \{really\} [grinning face]." in text
    assert r"Her tea \textless{}was\textgreater{} strong \& sweet." in text
    assert "\\toprule" in text and "\\bottomrule" in text
    assert "\\subsection*{Risk \\& safety}" in text


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_fragment_compiles(study: Path, tmp_path: Path) -> None:
    export_excerpts(study, tmp_path / "quotes.tex", status="all", context=1)
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        "\\begin{document}\n\\input{quotes.tex}\n\\end{document}\n", encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
         "main.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-2000:]


def test_docx_has_real_headings_and_quote_style(study: Path, tmp_path: Path) -> None:
    import docx

    result = excerpts(study, status="all", context=1)
    path = result.write(tmp_path / "quotes.docx")
    document = docx.Document(str(path))
    by_style: dict[str, list[str]] = {}
    for paragraph in document.paragraphs:
        by_style.setdefault(paragraph.style.name, []).append(paragraph.text)
    assert by_style["Title"] == ["Coded excerpts: study"]
    assert by_style["Heading 1"] == ["Visits", "Risk & safety"]
    assert by_style["Heading 2"] == ["Poor attendance", "Hospitality", "Going in pairs",
                                     "Streets avoided"]
    assert len(by_style["Quote"]) == len(result)
    assert any("Her tea <was> strong & sweet." in q and "— Anna, Oakview" in q
               for q in by_style["Quote"])
    assert any("😀" in q for q in by_style["Quote"])
    context_runs = [r for p in document.paragraphs if p.style.name == "Quote"
                    for r in p.runs if r.italic and r.text.startswith("[")]
    assert context_runs  # context is marked: bracketed italic runs
    table = document.tables[0]
    assert [c.text for c in table.rows[1].cells] == ["Visits", "Poor attendance", "3", "2",
                                                     "3"]


def test_xlsx_reads_back_and_never_makes_formulas(study: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    result = excerpts(study, status="all")
    path = result.write(tmp_path / "quotes.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["Excerpts", "Counts", "About"]
    sheet = book["Excerpts"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["theme", "theme_name", "code", "code_name"]
    quote_col = header.index("quote")
    cells = [row[quote_col] for row in sheet.iter_rows(min_row=2)]
    assert len(cells) == len(result)
    formula = [c for c in cells if c.value.startswith("=")]
    assert formula and formula[0].data_type == "s"
    assert formula[0].value == "=1+2 was written on the form."
    assert "attendance_rates {really} 😀." in [c.value for c in cells][1]
    counts = {row[1].value: row[3].value for row in book["Counts"].iter_rows(min_row=2)}
    assert counts["attendance"] == 3


def test_csv_round_trips(study: Path, tmp_path: Path) -> None:
    import pandas as pd

    result = excerpts(study, context=1)
    frame = pd.read_csv(result.write(tmp_path / "quotes.csv"), keep_default_na=False)
    assert list(frame["quote"]) == [e.quote for e in result]
    assert next(iter(frame["attribution"])) == "Anna, Oakview"
    assert frame.loc[0, "coders"] == "alice, bob"
    assert list(frame.columns) == list(result.to_frame().columns)


# -- files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["q.md", "q.html", "q.tex", "q.docx", "q.csv", "q.xlsx"])
def test_never_overwrites_unless_asked(study: Path, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("keep me", encoding="utf-8")
    with pytest.raises(ParameterError, match="never replaces a file unless asked"):
        export_excerpts(study, path)
    assert path.read_text(encoding="utf-8") == "keep me"
    export_excerpts(study, path, overwrite=True)
    assert path.read_bytes() != b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left


def test_format_from_suffix_or_named(study: Path, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"Cannot tell the format of q\.txt"):
        export_excerpts(study, tmp_path / "q.txt")
    path = export_excerpts(study, tmp_path / "q.txt", format="md")
    assert path.read_text(encoding="utf-8").startswith("# Coded excerpts: study")
    with pytest.raises(ParameterError, match="'format' parameter"):
        export_excerpts(study, tmp_path / "q.pdf", format="pdf")
    with pytest.raises(ParameterError, match="does not exist"):
        export_excerpts(study, tmp_path / "missing" / "q.md")


def test_project_object_stays_open_and_frames(study: Path) -> None:
    with Project.open(study) as project:
        result = excerpts(project, codes="tea")
        assert len(project.documents) == 3  # still usable
    frame = result.to_frame()
    assert list(frame["code"]) == ["tea", "tea"] and frame.loc[0, "document"] == "d1"
    assert list(result.counts_frame()["code"]) == ["tea"]
    assert "2 excerpts of 1 code " in repr(result)


def test_codes_missing_from_the_codebook_are_kept_apart(tmp_path: Path) -> None:
    from builders import make_corpus

    with Project.create(tmp_path / "p.qualcode") as project:
        project.add_corpus(make_corpus({"a": "Ann: One thing. Another thing."}))
        project.add_codings([Coding("a", 5, 15, "thing", coder="ann")])
        result = excerpts(project)
        assert [(e.code, e.theme, e.quote) for e in result] == [
            ("thing", "(not in the codebook)", "One thing.")]
        project.set_codebook(Codebook("b", (Code("other"),)))
        result = excerpts(project)
        assert [c.code for c in result.counts] == ["other", "thing"]
        assert "(not in the codebook)" in result.to_markdown()


def test_span_index_finds_overlaps() -> None:
    items = [MergedSpan("d", "c", s, e, []) for s, e in ((0, 10), (10, 20), (2, 30), (40, 50))]
    index = SpanIndex(items)
    assert [(i.start, i.end) for i in index.overlapping(9, 11)] == [(0, 10), (2, 30), (10, 20)]
    assert [(i.start, i.end) for i in index.overlapping(30, 40)] == []
    assert [(i.start, i.end) for i in index.overlapping(29, 41)] == [(2, 30), (40, 50)]


def test_codebook_fixture_is_what_the_tests_assume() -> None:
    assert [c.id for c in CODEBOOK.leaves()] == ["attendance", "tea", "pairs", "streets",
                                                 "unused"]


def test_written_files_get_the_usual_permissions(study: Path, tmp_path: Path) -> None:
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = export_excerpts(study, tmp_path / "q.md")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not a private temporary file


def test_a_notebook_cell_shows_the_first_excerpts_and_says_where_the_rest_are(
        study: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import qualcode.export.excerpts as module

    result = excerpts(study)
    assert len(result.excerpts) > 2
    whole = result._repr_html_()
    assert whole.count("<blockquote>") == len(result.excerpts) and "are shown here" not in whole
    monkeypatch.setattr(module, "_NOTEBOOK_EXCERPTS", 2)
    cut = result._repr_html_()
    shown = cut.count("<blockquote>")
    assert 2 <= shown < len(result.excerpts)  # whole codes: the cap is reached in one
    assert (f"The first {shown} of {len(result.excerpts)} excerpts are shown here (whole "
            "codes); write() or to_frame() gives them all.") in cut
    assert "are shown here" not in result.to_html()
