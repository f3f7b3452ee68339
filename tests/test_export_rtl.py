"""Right-to-left text (Arabic, Hebrew) in the HTML, DOCX and LaTeX excerpt exports and the
notebook displays: every block of user text carries its direction, worked out from the
whole text (a quote that opens with a number or a Latin word such as "Zoom" is still
right to left), and the LaTeX says which engine and fonts it needs."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from builders import make_corpus

from qualcode.display import codebook_html, codings_html, document_html
from qualcode.export._common import text_direction
from qualcode.export.excerpts import excerpts
from qualcode.model import Code, Codebook, Coding
from qualcode.project import Project

# Interview-like sentences: a number first, a Latin brand first, a quotation, and an
# interviewer who asks in English.
ARABIC_NUMBER = "3 مرات طرقنا الباب ولم يفتح أحد، فانتظرنا عشر دقائق ثم اتصلنا بالأم."
ARABIC_LATIN = "Zoom ساعدنا كثيرًا عندما رفضت العائلة الزيارة، لكن الشاي في البيت أفضل!"
ARABIC_QUOTE = "قال الأب: «لسنا بحاجة إلى أخصائي اجتماعي»، ثم أغلق الباب."
HEBREW_LATIN = "WhatsApp היה הדרך היחידה להגיע לאמא, כי הטלפון נותק."
HEBREW_PLAIN = "השכנים הסתכלו עלינו מהחלון; תמיד הולכים בזוגות."
ENGLISH = "We always go in pairs, and we park facing the way out."

TEXTS = {
    "ar01": (f"INTERVIEWER: What happened at the door?\nسارة: {ARABIC_NUMBER}\n"
             f"سارة: {ARABIC_LATIN}\nسارة: {ARABIC_QUOTE}"),
    "he01": f"INTERVIEWER: And the neighbours?\nנועה: {HEBREW_LATIN}\nנועה: {HEBREW_PLAIN}",
    "en01": f"INTERVIEWER: How do you stay safe?\nAnna: {ENGLISH}",
}
SETTINGS = {"ar01": "مدرسة النور", "he01": "בית ספר הדר", "en01": "Oakview"}
CODEBOOK = Codebook("rtl", (
    Code("thresholds", name="Thresholds"),
    Code("door", name="عتبة الباب", parent="thresholds", definition="ما يحدث عند الباب."),
    Code("phones", name="טלפונים", parent="thresholds"),
    Code("safety", name="Safety"),
    Code("pairs", name="Going in pairs", parent="safety"),
))


def _coding(doc: str, words: str, code: str) -> Coding:
    start = TEXTS[doc].index(words)
    return Coding(doc, start, start + len(words), code, "alice")


CODINGS = [
    _coding("ar01", ARABIC_NUMBER, "door"),
    _coding("ar01", ARABIC_LATIN, "door"),
    _coding("ar01", ARABIC_QUOTE, "door"),
    _coding("he01", HEBREW_LATIN, "phones"),
    _coding("he01", HEBREW_PLAIN, "pairs"),
    _coding("en01", ENGLISH, "pairs"),
]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rtl") / "rtl.qualcode"
    with Project.create(path, codebook=CODEBOOK) as project:
        project.add_corpus(make_corpus(TEXTS))
        for doc_id, setting in SETTINGS.items():
            project.set_attributes(doc_id, {"setting": setting})
        project.add_codings(CODINGS)
    return path


class _Elements(HTMLParser):
    """Each element's tag, attributes, and the text inside it (nested text included)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, dict[str, str | None], list[str]]] = []
        self.closed: list[tuple[str, dict[str, str | None], str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "meta", "style"):
            return
        self.open.append((tag, dict(attrs), []))

    def handle_endtag(self, tag):
        if tag in ("br", "meta", "style"):
            return
        while self.open:
            name, attrs, parts = self.open.pop()
            self.closed.append((name, attrs, "".join(parts)))
            if name == tag:
                break

    def handle_data(self, data):
        for _, _, parts in self.open:
            parts.append(data)


def elements(markup: str, tag: str) -> list[tuple[dict[str, str | None], str]]:
    parser = _Elements()
    parser.feed(markup.split("</style>")[-1])
    parser.close()
    return [(attrs, text) for name, attrs, text in parser.closed if name == tag]


def direction_of(markup: str, tag: str, words: str) -> str | None:
    """The dir attribute of the innermost ``tag`` element holding ``words``."""
    found = [attrs for attrs, text in elements(markup, tag) if words in text]
    assert found, f"no <{tag}> holds {words!r}"
    return found[0].get("dir")


@pytest.mark.parametrize(
    ("text", "expected"),
    [(ARABIC_NUMBER, "rtl"), (ARABIC_LATIN, "rtl"), (HEBREW_LATIN, "rtl"), (ENGLISH, "ltr"),
     ("She said شكرا to us at the door", "ltr"), ("10:30 - 11:00", None)],
)
def test_direction_counts_words_not_the_first_letter(text: str, expected: str | None) -> None:
    assert text_direction(text) == expected


# -- HTML excerpts ----------------------------------------------------------------------------
def test_html_quotes_titles_and_names_carry_their_direction(study: Path) -> None:
    page = excerpts(study).to_html()
    assert direction_of(page, "div", "Coded excerpts") == "ltr"  # the page's own labels
    for words in (ARABIC_NUMBER, ARABIC_LATIN, ARABIC_QUOTE, HEBREW_LATIN, HEBREW_PLAIN):
        assert direction_of(page, "blockquote", words[:12]) == "rtl", words
    assert direction_of(page, "blockquote", ENGLISH) is None  # inherits ltr
    assert direction_of(page, "h3", "عتبة الباب") == "rtl"
    assert direction_of(page, "h3", "טלפונים") == "rtl"
    assert direction_of(page, "td", "عتبة الباب") == "rtl"  # the table of counts
    # An English attribution inside a right-to-left quote keeps its own direction.
    assert direction_of(page, "footer", "Anna, Oakview") is None
    footers = [a.get("dir") for a, t in elements(page, "footer") if "سارة" in t]
    assert footers and set(footers) == {None}  # Arabic inside an rtl quote: inherited
    assert "text-align: end" in page and "border-inline-start" in page


def test_html_latin_attribution_of_an_rtl_quote_keeps_ltr(study: Path) -> None:
    page = excerpts(study, codes="pairs", template="{document}").to_html()
    assert direction_of(page, "blockquote", HEBREW_PLAIN[:12]) == "rtl"
    assert direction_of(page, "footer", "he01") == "ltr"
    assert direction_of(page, "footer", "en01") is None  # in an ltr quote


def test_html_inline_user_text_is_isolated(study: Path) -> None:
    page = excerpts(study, attributes={"setting": "בית ספר הדר"}).to_html()
    assert '<bdi dir="rtl">בית ספר הדר</bdi>' in page  # the filter in the header


# -- DOCX -------------------------------------------------------------------------------------
def test_docx_marks_rtl_paragraphs_and_runs(study: Path, tmp_path: Path) -> None:
    import docx
    from docx.oxml.ns import qn

    excerpts(study).write(tmp_path / "quotes.docx")
    document = docx.Document(str(tmp_path / "quotes.docx"))

    def bidi(paragraph) -> bool:
        ppr = paragraph._p.pPr
        return ppr is not None and ppr.find(qn("w:bidi")) is not None

    quotes = {p.text: p for p in document.paragraphs if p.style.name == "Quote"}
    for words in (ARABIC_NUMBER, ARABIC_LATIN, HEBREW_LATIN):
        paragraph = next(p for t, p in quotes.items() if words in t)
        assert bidi(paragraph), words
        run = next(r for r in paragraph.runs if words in r.text)
        assert run.font.rtl is True
    english = next(p for t, p in quotes.items() if ENGLISH in t)
    assert not bidi(english) and not any(r.font.rtl for r in english.runs)
    headings = {p.text: p for p in document.paragraphs if p.style.name == "Heading 2"}
    assert bidi(headings["عتبة الباب"]) and not bidi(headings["Going in pairs"])
    attribution = next(r for r in english.runs if "Anna" in r.text)
    assert not attribution.font.rtl


# -- LaTeX ------------------------------------------------------------------------------------
def test_latex_keeps_rtl_letters_and_says_what_it_needs(study: Path, tmp_path: Path) -> None:
    result = excerpts(study)
    text = result.to_latex()
    assert "[arabic letter" not in text and "[hebrew letter" not in text
    assert "طرقنا الباب" in text and "הטלפון נותק" in text
    header = "\n".join(line for line in text.splitlines() if line.startswith("%"))
    assert "lualatex or xelatex" in header and "pdflatex" in header
    assert "arabic" in header and "hebrew" in header and "Amiri" in header
    assert "\\begin{otherlanguage}{arabic}" in text
    assert "\\begin{otherlanguage}{hebrew}" in text
    assert "\\subsubsection*{\\foreignlanguage{arabic}{عتبة الباب}}" in text
    with pytest.warns(UserWarning, match=r"Arabic and Hebrew script.*lualatex or xelatex"):
        result.write(tmp_path / "quotes.tex")
    assert (tmp_path / "quotes.tex").read_text(encoding="utf-8") == text


def test_latex_for_pdflatex_still_names_what_it_cannot_set(study: Path) -> None:
    text = excerpts(study, documents="en01", codes="pairs").to_latex()
    assert "otherlanguage" not in text and "xelatex" not in text
    forced = excerpts(study).to_latex(unicode=False)
    assert "[arabic letter" in forced
    assert "pdflatex cannot set" in forced


# -- notebook displays ------------------------------------------------------------------------
def test_document_display_sets_the_text_and_each_turn(study: Path) -> None:
    with Project.open(study) as project:
        document = project.documents["ar01"]
        markup = document_html(document, project.codings(document="ar01"),
                               segments=project.segments(document="ar01"),
                               codebook=project.codebook)
    outer = [a for a, t in elements(markup, "div") if "qc-doc" in (a.get("class") or "")]
    assert outer[0].get("dir") == "ltr"
    assert direction_of(markup, "div", ARABIC_QUOTE) == "rtl"  # the .qc-text block
    assert direction_of(markup, "span", "What happened at the door?") == "ltr"


def test_review_table_and_codebook_carry_direction(study: Path) -> None:
    with Project.open(study) as project:
        table = codings_html(project.codings(), project)
        book = codebook_html(project.codebook)
    assert direction_of(table, "td", ARABIC_NUMBER[:12]) == "rtl"
    assert direction_of(table, "td", ENGLISH) is None
    assert direction_of(book, "b", "عتبة الباب") == "rtl"
    assert direction_of(book, "div", "ما يحدث عند الباب.") == "rtl"


# -- a real browser ---------------------------------------------------------------------------
PROBE = """<pre id="probe"></pre><script>
(function () {
  const out = [...document.querySelectorAll('blockquote p')].map((p) => {
    const node = p.firstChild, range = document.createRange();
    const word = node.textContent.indexOf(' ');
    range.setStart(node, 0); range.setEnd(node, word);
    const first = range.getBoundingClientRect(), box = p.getBoundingClientRect();
    return {text: node.textContent, direction: getComputedStyle(p).direction,
            first: [first.left, first.right], box: [box.left, box.right]}; });
  document.getElementById('probe').textContent = JSON.stringify(out);
})();
</script>"""


def test_a_browser_sets_rtl_quotes_from_the_right(study: Path, tmp_path: Path) -> None:
    """Chromium lays out each quote: the first word of a right-to-left quote (a number, or
    the Latin "Zoom") sits at the right edge, of an English one at the left edge."""
    import html
    import json
    import re

    from test_browser import chromium, run_chromium

    page = excerpts(study).to_html().replace("</body>", PROBE + "</body>")
    (tmp_path / "quotes.html").write_text(page, encoding="utf-8")
    dom = run_chromium(chromium(), (tmp_path / "quotes.html").as_uri(), tmp_path / "profile",
                       "--dump-dom", "--virtual-time-budget=5000")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1), "the probe script did not run"
    quotes = {q["text"]: q for q in json.loads(html.unescape(found.group(1)))}
    for words in (ARABIC_NUMBER, ARABIC_LATIN, HEBREW_LATIN, HEBREW_PLAIN):
        quote = quotes[words]
        assert quote["direction"] == "rtl", words
        assert abs(quote["box"][1] - quote["first"][1]) < 2, (words, quote)
    english = quotes[ENGLISH]
    assert english["direction"] == "ltr" and abs(english["first"][0] - english["box"][0]) < 2


def test_cli_says_what_the_latex_needs_as_a_note_not_a_warning(study: Path, tmp_path: Path,
                                                               capsys) -> None:
    from qualcode.cli import main

    try:
        main(["export", "excerpts", str(study), "--out", str(tmp_path / "q.tex")])
    except SystemExit as exc:
        assert not exc.code
    out, err = capsys.readouterr()
    assert "Note:" in out and "lualatex or xelatex" in out
    assert "UserWarning" not in out + err and "warnings.warn" not in out + err
