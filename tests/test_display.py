"""Displays: escaping, colours, overlapping codings, determinism, plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from builders import make_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.display import (
    PALETTE,
    STYLE,
    DocumentView,
    ProjectView,
    code_colors,
    codebook_html,
    codebook_text,
    codings_html,
    codings_text,
    document_html,
    document_text,
    legend_html,
    page,
    project_html,
    review_card_html,
    show,
)
from qualcode.errors import NotFoundError, ParameterError
from qualcode.model import Code, Codebook, Coding, Document, Segment

TRICKY = 'INTERVIEWER: Was it <b>bad</b> & "loud"?\nAnna: Yes <script>x</script> & more\'s.'


class _Text(HTMLParser):
    """The text a browser would show (no <style>), and every tag seen."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.parts.append(data)


def parse(markup: str) -> _Text:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return parser


def text_block(markup: str) -> str:
    """The text inside the ``qc-text`` block."""
    inner = markup.split('<div class="qc-text"', 1)[1]
    inner = inner.split(">", 1)[1].rsplit("</div></div>", 1)[0]
    return "".join(parse(inner).parts)


@pytest.fixture
def book() -> Codebook:
    return Codebook("book", (
        Code("visits", name="Visits & <reasons>", color="#1b9e77", definition="Why <we> go."),
        Code("absence", name="Absence", parent="visits", definition="Not in school.",
             include="Missing days.", exclude="Illness.", examples=("a", "b", "c", "d"),
             keywords=("absent",), patterns=(r"\bmiss",)),
        Code("tea", name="Tea", parent="visits", color="#d95f02"),
        Code("safety", name="Safety"),
        Code("pairs", name="Pairs", parent="safety"),
    ))


@pytest.fixture
def tricky() -> tuple[Document, list[Segment]]:
    corpus = make_corpus({"doc": TRICKY})
    return corpus.documents[0], list(corpus.segments)


def coding(doc: Document, words: str, code: str, **kw) -> Coding:
    start = doc.text.index(words)
    return Coding(doc.id, start, start + len(words), code, kw.pop("coder", "alice"), **kw)


# -- escaping and text ---------------------------------------------------------------------------
def test_document_text_is_escaped_and_intact(tricky, book):
    doc, segments = tricky
    markup = document_html(doc, [coding(doc, "<script>x</script> &", "absence")],
                           segments=segments, codebook=book)
    assert "<script>" not in markup and "<b>bad</b>" not in markup
    assert "&lt;script&gt;x&lt;/script&gt; &amp;</mark> more&#x27;s" in markup
    assert text_block(markup) == doc.text


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab <>&\"'\n:é")), min_size=1,
                    max_size=40),
       spans=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40),
                                st.sampled_from(["absence", "tea", "other"]),
                                st.sampled_from(["accepted", "suggested", "rejected"])),
                      max_size=6))
def test_any_codings_keep_the_text_exact(text, spans):
    doc = Document("d", text)
    codings = []
    for a, b, code, status in spans:
        start, end = sorted((a % (len(text) + 1), b % (len(text) + 1)))
        codings.append(Coding("d", start, end, code, "x", status=status))
    markup = document_html(doc, codings)
    assert text_block(markup) == text
    assert "<script" not in markup


def test_attribute_values_are_escaped(book):
    doc = Document("d\"><x", "Hello there", attributes={"setting": "<Oak>"})
    markup = document_html(doc, [Coding(doc.id, 0, 5, "absence", "a\"b",
                                        reason='matched "<hi>"')], codebook=book)
    tags = parse(markup).tags
    assert not any(tag == "x" for tag, _ in tags)
    titles = [a["title"] for t, a in tags if t == "mark"]
    assert titles and 'matched "<hi>"' in titles[0]


# -- overlapping codings -------------------------------------------------------------------------
def test_overlaps_get_their_own_lanes_and_runs(tricky, book):
    doc, segments = tricky
    first = coding(doc, "Yes <script>", "absence")
    second = Coding(doc.id, first.start + 4, first.end + 10, "tea", "rules",
                    method="rules", status="suggested", confidence=0.5, reason="kettle")
    markup = document_html(doc, [second, first], segments=segments, codebook=book)
    marks = [a for t, a in parse(markup).tags if t == "mark"]
    assert [m["data-codes"] for m in marks] == ["absence", "absence tea", "tea"]
    both = marks[1]["style"]
    # lane 0 (absence, solid, started first) at the bottom, lane 1 (tea, dashed) 4px above
    assert "linear-gradient(#1b9e77,#1b9e77)" in both
    assert "repeating-linear-gradient(90deg,#d95f02" in both
    assert "0 calc(100% - 0px),0 calc(100% - 4px)" in both
    # two codes overlap: a stronger tint of the lowest lane's colour
    assert "background-color:#a4d8c9" in both
    assert "background-color:#cdeae1" in marks[0]["style"]


def test_lanes_are_reused_once_free():
    doc = Document("d", "abcdefghij")
    codings = [Coding("d", 0, 3, "a", "x"), Coding("d", 2, 5, "b", "x"),
               Coding("d", 4, 8, "c", "x")]
    markup = document_html(doc, codings, colors="distinct")
    styles = {a["data-codes"]: a["style"] for t, a in parse(markup).tags if t == "mark"}
    assert "0 calc(100% - 0px)" in styles["c"]  # c starts after a ends: back to lane 0
    assert "line-height:calc(1.55em + 8px)" in markup  # two lanes at most


def test_tags_and_statuses(tricky, book):
    doc, segments = tricky
    codings = [coding(doc, "Yes", "absence"), coding(doc, "more", "tea", status="suggested"),
               coding(doc, "bad", "pairs", status="rejected")]
    markup = document_html(doc, codings, segments=segments, codebook=book)
    tags = [a for t, a in parse(markup).tags if t == "span" and "qc-tag" in a["class"]]
    assert [(a["data-tag"], a["class"]) for a in tags] == [
        ("Pairs", "qc-tag qc-rejected"), ("Absence", "qc-tag qc-accepted"),
        ("Tea", "qc-tag qc-suggested")]
    rejected = next(a for t, a in parse(markup).tags if t == "mark" and a["data-codes"] ==
                    "pairs")
    assert "background-color:transparent" in rejected["style"]
    by_id = document_html(doc, codings, segments=segments, codebook=book, tags="id")
    assert 'data-tag="absence"' in by_id
    assert "qc-tag" not in document_html(doc, codings, codebook=book, tags=None, style=False)
    with pytest.raises(ParameterError, match="'tags' parameter"):
        document_html(doc, codings, tags="label")


def test_speaker_labels_and_interviewer_turns(tricky):
    doc, segments = tricky
    markup = document_html(doc, (), segments=segments, style=False)
    spans = [a for t, a in parse(markup).tags if t == "span"]
    assert {"class": "qc-turn qc-interviewer", "data-index": "0",
            "data-speaker": "INTERVIEWER"} in spans
    assert markup.count('class="qc-label"') == 2
    assert "qc-legend" not in markup  # nothing coded: no legend


def test_coding_outside_the_document_is_an_error():
    doc = Document("d", "short")
    with pytest.raises(ParameterError, match="lies outside document 'd'"):
        document_html(doc, [Coding("d", 2, 50, "a", "x")])


def test_other_documents_codings_are_ignored():
    doc = Document("d", "short")
    assert "qc-run" not in document_html(doc, [Coding("e", 0, 3, "a", "x")], style=False)


# -- colours ---------------------------------------------------------------------------------------
def test_colours_come_from_code_then_ancestor_then_palette(book):
    colours = code_colors(book, ["stray"])
    assert colours["absence"] == "#1b9e77"  # inherits its theme's colour
    assert colours["tea"] == "#d95f02"  # its own
    assert colours["safety"] == colours["pairs"] == PALETTE[1]  # second theme, no colours
    assert colours["stray"] == PALETTE[2]  # after the themes
    distinct = code_colors(book, (), "distinct")
    assert list(distinct.values()) == list(PALETTE[:5])
    assert code_colors(book, (), {"tea": "#ABC"})["tea"] == "#aabbcc"


@pytest.mark.parametrize("bad", ["red; background:url(x)", "#12345", "url(#x)", 3])
def test_unsafe_colours_are_refused_or_replaced(bad):
    with pytest.raises(ParameterError, match="colors"):
        code_colors(None, ["a"], {"a": bad})
    book = Codebook("b", (Code("a", color=bad if isinstance(bad, str) else None),))
    assert code_colors(book)["a"] == PALETTE[0]


def test_unknown_colour_mode():
    with pytest.raises(ParameterError, match="'colors' parameter of code_colors"):
        code_colors(None, ["a"], "rainbow")


# -- legend, codebook, tables ----------------------------------------------------------------------
def test_legend_groups_codes_under_themes(book):
    markup = legend_html(["tea", "pairs", "absence"], code_colors(book), book,
                         counts={"tea": 2, "absence": 1}, statuses={"suggested"})
    text = "".join(parse(markup).parts)
    assert text.index("Visits & <reasons>") < text.index("Absence (1)") < text.index("Tea (2)")
    assert text.index("Tea (2)") < text.index("Safety") < text.index("Pairs")
    assert "dashed" in markup and "solid" not in markup


def test_codebook_tree(book):
    markup = codebook_html(book, examples=2)
    assert "Visits &amp; &lt;reasons&gt;" in markup and "Why &lt;we&gt; go." in markup
    items = [a["data-code"] for t, a in parse(markup).tags if t == "li"]
    assert items == ["visits", "absence", "tea", "safety", "pairs"]
    assert "and 2 more" in markup and "Include" in markup and r"\bmiss" in markup
    assert "2 themes · 3 codes" in markup
    text = codebook_text(book)
    assert text.splitlines() == [
        "book (version 1): 2 themes, 3 codes",
        "├── Visits & <reasons> [visits]: Why <we> go.",
        "│   ├── Absence [absence]: Not in school.",
        "│   └── Tea [tea]",
        "└── Safety [safety]",
        "    └── Pairs [pairs]",
    ]


def test_codings_table(project):
    doc = project.documents["d1"]
    start = doc.text.index("absent")
    project.add_codings([
        Coding("d1", start, start + 6, "attendance", "rules", method="rules",
               status="suggested", confidence=0.75, reason='matched "absent" <kw>'),
        Coding("d2", 0, 11, "tea", "alice"),
    ])
    markup = codings_html(project.codings(), project)
    rows = [a for t, a in parse(markup).tags if t == "tr" and "data-coding-id" in a]
    assert [(r["data-coding-id"], r["data-status"], r["data-code"]) for r in rows] == [
        ("1", "suggested", "attendance"), ("2", "accepted", "tea")]
    assert "matched &quot;absent&quot; &lt;kw&gt;" in markup
    assert 'style="width:75%' in markup
    text = "".join(parse(markup).parts)
    assert "He was absent all week." in text  # the passage in its turn
    assert "Anna" in text  # the speaker
    short = codings_html(project.codings(), project, max_rows=1)
    assert "… and 1 more" in short
    plain = codings_text(project.codings(), project)
    assert '"absent"' in plain and "because: matched" in plain
    with pytest.raises(ParameterError, match="needs the text of document 'd1'"):
        codings_html(project.codings())


def test_review_card(project, small_codebook):
    doc = project.documents["d1"]
    start = doc.text.index("kettle")
    c = Coding("d1", start, start + 6, "tea", "rules", method="rules", status="suggested",
               confidence=0.6, reason="matched kettle")
    markup = review_card_html(c, doc, segments=project.segments(document="d1"),
                              codebook=small_codebook, heading="2 of 5")
    text = "".join(parse(markup).parts)
    assert "2 of 5" in text and "Visits › Hospitality" in text
    assert "Being offered or accepting a drink." in text and "matched kettle" in text
    assert "Anna: He was absent all week.\nAnna: Mum put the kettle on." in text


# -- wiring --------------------------------------------------------------------------------------
def test_show_a_document(project):
    doc = project.documents["d1"]
    start = doc.text.index("absent")
    project.add_codings([
        Coding("d1", start, start + 6, "attendance", "alice"),
        Coding("d1", start, start + 6, "tea", "rules", status="rejected", method="rules"),
    ])
    view = show(project, "d1")
    assert isinstance(view, DocumentView) and len(view.codings) == 1  # rejected left out
    assert view._repr_html_() == view.to_html() == show(project, "d1").to_html()
    assert repr(view) == "<DocumentView d1: 1 coding of 1 code>"
    assert '[Attendance] accepted by alice: "absent"' in str(view)
    assert len(show(project, "d1", status=None).codings) == 2
    assert len(show(project, "d1", code="visits", status=None).codings) == 2  # a theme
    assert len(show(project, "d1", code="Hospitality", status=None).codings) == 1
    with pytest.raises(NotFoundError, match="d3"):
        show(project, "d3")
    with pytest.raises(ParameterError, match="'status' parameter of show"):
        show(project, "d1", status="done")


def test_view_save_writes_a_page(project, tmp_path):
    path = show(project, "d1").save(tmp_path / "d1.html")
    content = path.read_text(encoding="utf-8")
    assert content.startswith("<!DOCTYPE html>") and STYLE in content
    assert page("x", title="<t>").count("&lt;t&gt;") == 1


def test_show_project(project):
    view = show(project)
    assert isinstance(view, ProjectView)
    markup = view._repr_html_()
    assert "study.qualcode" in markup and "<td>d1</td>" in markup
    assert "2 documents" in str(view)


def test_output_is_deterministic(project):
    first = show(project, "d1").to_html() + codebook_html(project.codebook)
    second = show(project, "d1").to_html() + codebook_html(project.codebook)
    assert first == second
    assert not re.search(r"id=\"", first)  # no generated element ids


def test_plain_text_lists_codings_under_their_turn(tricky, book):
    doc, segments = tricky
    text = document_text(doc, [coding(doc, "more", "tea", confidence=0.5)],
                         segments=segments, codebook=book)
    lines = text.splitlines()
    assert lines[0] == "doc: 11 words, 1 coding"
    assert lines[-1] == '    [Tea] accepted by alice 0.50: "more"'
    assert lines[-2].startswith("Anna: Yes <script>")


def test_write_document_html_refuses_to_overwrite(project, tmp_path):
    from qualcode.display import write_document_html

    path = write_document_html(project, "d1", tmp_path / "d1.html", status=None)
    assert "Anna" in path.read_text(encoding="utf-8")
    with pytest.raises(ParameterError, match="already exists"):
        write_document_html(project, "d1", path)
    assert write_document_html(project, "d1", path, overwrite=True) == path


def test_many_overlapping_codings_render_quickly():
    import time

    text = "word " * 4000
    doc = Document("big", text)
    codings = [Coding("big", i * 7, min(len(text), i * 7 + 60 + (i % 5) * 40),
                      f"c{i % 12}", "x") for i in range(2000)]
    started = time.perf_counter()
    markup = document_html(doc, codings, colors="distinct")
    assert time.perf_counter() - started < 5
    assert text_block(markup) == text


def test_project_summary_lists_at_most_max_rows_documents(project):
    project.add_corpus(make_corpus({f"extra{i:02d}": f"Ann: Answer {i}." for i in range(60)}))
    markup = show(project)._repr_html_()  # 62 documents
    assert markup.count('<td>extra') == 50 - 2 and "extra48" not in markup
    assert "… and 12 more documents (project.documents.to_frame() lists them all)" in markup
    everything = project_html(project, max_rows=None)
    assert everything.count("<td>extra") == 60 and "more document" not in everything
    with pytest.raises(ParameterError, match="'max_rows' parameter of project_html"):
        project_html(project, max_rows=-1)
