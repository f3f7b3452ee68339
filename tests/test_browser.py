"""A real browser: headless Chromium renders a coded document and a review table.

The page is the bundled study's first interview with its reference coding (accepted) and
keyword suggestions (suggested) overlapping it, then a review table of those suggestions.
Chromium runs twice: ``--dump-dom`` with a small probe script that records what the
browser computed (text, colours, rectangles, the tags' generated content, the table's
layout), and ``--screenshot``, whose pixels are checked against the colours the probe
reports. CI installs Chromium (Debian's ``chromium`` package) and runs this test; it fails,
not skips, when Chromium is missing, unless ``QUALCODE_NO_BROWSER=1`` says to skip.

Regenerate the README screenshots with ``python tests/test_browser.py``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = "AP01_sarah"
WIDTH, HEIGHT = 1000, 1400
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1", "--force-color-profile=srgb",
         f"--window-size={WIDTH},{HEIGHT}"]

PROBE = """<pre id="probe"></pre><script>
(function () {
  const rgb = (v) => v;
  const doc = document.querySelector('.qc-doc');
  const box = (el) => { const r = el.getClientRects()[0];
    return r ? {x: r.left, y: r.top, w: r.width, h: r.height} : null; };
  const out = {viewport: {w: innerWidth, h: innerHeight}};
  out.text = doc.querySelector('.qc-text').textContent;
  out.marks = [...doc.querySelectorAll('mark.qc-run')].map((m) => ({
    codes: m.dataset.codes, ids: m.dataset.codingIds, style: m.getAttribute('style'),
    bg: rgb(getComputedStyle(m).backgroundColor), box: box(m),
    lines: m.getClientRects().length}));
  out.tags = [...doc.querySelectorAll('.qc-tag')].map((t) => {
    const before = getComputedStyle(t, '::before');
    return {label: t.dataset.tag, status: t.className, content: before.content,
            bg: before.backgroundColor, color: before.color, box: box(t)}; });
  out.swatches = [...doc.querySelectorAll('.qc-legend .qc-key[data-code]')].map((k) => ({
    code: k.dataset.code,
    bg: getComputedStyle(k.querySelector('.qc-swatch')).backgroundColor}));
  const review = document.querySelector('.qc-review');
  const table = review.querySelector('table');
  out.table = {
    width: table.getBoundingClientRect().width,
    container: review.clientWidth, scroll: review.scrollWidth,
    page_scroll: document.documentElement.scrollWidth,
    headers: [...table.querySelectorAll('thead th')].map((h) => h.textContent),
    rows: [...table.querySelectorAll('tbody tr')].map((r) => {
      const bar = r.querySelector('.qc-bar > span');
      const cells = [...r.children].map((c) => c.getBoundingClientRect().width);
      return {id: r.dataset.codingId, height: r.getBoundingClientRect().height,
              bar: bar ? bar.getBoundingClientRect().width : null,
              confidence: r.querySelector('.qc-confidence').dataset.value,
              passage: r.querySelector('.qc-passage').textContent,
              mark: r.querySelector('.qc-passage mark').textContent,
              chip: getComputedStyle(r.querySelector('.qc-chip')).backgroundColor,
              narrowest: Math.min(...cells)}; })};
  document.getElementById('probe').textContent = JSON.stringify(out);
})();
</script>"""


# -- the page ------------------------------------------------------------------------------------
def build_study(path: Path):
    """A project of the bundled study with its reference coding and keyword suggestions."""
    from qualcode.api import bundled_study, ingest, init
    from qualcode.codings_table import import_codings

    study = bundled_study()
    project = init(path, codebook=study["codebook"], overwrite=True)
    ingest(project, study["transcripts"], cases=study["cases"])
    import_codings(project, study["codings"], coder="reference")
    project.add_codings(keyword_suggestions(project, DOCUMENT, turns=9, limit=6))
    return project


def keyword_suggestions(project, document: str, *, turns: int, limit: int):
    """Suggestions where a codebook keyword occurs in one of the first participant turns
    (a plain word match: enough to draw suggestions beside the reference coding)."""
    from qualcode.model import Coding

    book = project.codebook
    found = []
    participant = [s for s in project.segments(document=document) if s.role == "participant"]
    for segment in participant[:turns]:
        for code in book.leaves():
            for keyword in code.keywords:
                match = re.search(rf"\b{re.escape(keyword)}\b", segment.text, re.IGNORECASE)
                if match and code.id not in {c.code_id for c in found
                                             if c.start == segment.start}:
                    found.append(Coding(
                        document, segment.start, segment.end, code.id, "keywords",
                        method="rules", status="suggested",
                        confidence=round(0.5 + 0.1 * len(keyword.split()), 2),
                        reason=f'matched "{match.group(0)}" (keyword: {keyword})'))
                    break
    return found[:limit]


def page_html(project) -> str:
    from qualcode.display import codings_html, page, show

    view = show(project, DOCUMENT)
    table = codings_html(project.codings(document=DOCUMENT, status="suggested"), project)
    return page(view.to_html() + "<h2 style='font-family:sans-serif'>Suggestions</h2>"
                + table, title=DOCUMENT)


# -- running Chromium ----------------------------------------------------------------------------
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("QUALCODE_NO_BROWSER") == "1":
        pytest.skip("QUALCODE_NO_BROWSER=1: the browser test was asked to skip")
    pytest.fail("Chromium is not installed; install it (apt-get install -y chromium) or set "
                "QUALCODE_NO_BROWSER=1 to skip this test on purpose.")


def run_chromium(binary: str, url: str, profile: Path, *extra: str) -> str:
    result = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, f"chromium failed: {result.stderr[-2000:]}"
    return result.stdout


def render(html_text: str, folder: Path, name: str) -> tuple[dict, Path]:
    """Load the page twice: the probe's JSON (from the DOM) and a screenshot."""
    binary = chromium()
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / f"{name}.html"
    plain.write_text(html_text, encoding="utf-8")
    probed = folder / f"{name}-probe.html"
    probed.write_text(html_text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = run_chromium(binary, probed.as_uri(), folder / "profile-dom", "--dump-dom",
                       "--virtual-time-budget=5000")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL)
    assert found and found.group(1), "the probe script did not run"
    shot = folder / f"{name}.png"
    run_chromium(binary, plain.as_uri(), folder / "profile-shot", f"--screenshot={shot}")
    assert shot.is_file()
    return json.loads(html.unescape(found.group(1))), shot


def parse_rgb(value: str) -> tuple[int, int, int]:
    numbers = re.findall(r"\d+", value)
    assert len(numbers) >= 3, value
    return int(numbers[0]), int(numbers[1]), int(numbers[2])


def hex_rgb(value: str) -> tuple[int, int, int]:
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def close(a, b, tolerance: int = 3) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def underlines(style: str) -> list[tuple[int, str, str]]:
    """``(px above the bottom, colour, "solid"/"dashed"/"dotted")`` of each underline in a
    run's inline style."""
    images = re.search(r"background-image:([^;]+)", style).group(1)
    positions = re.search(r"background-position:([^;]+)", style).group(1).split(",")
    layers = re.findall(r"(repeating-)?linear-gradient\((?:90deg,)?(#[0-9a-f]{6})( 0 (\d)px)?",
                        images)
    out = []
    for position, (repeating, colour, _, dash) in zip(positions, layers, strict=True):
        offset = int(re.search(r"- (\d+)px", position).group(1))
        kind = "solid" if not repeating else ("dashed" if dash == "7" else "dotted")
        out.append((offset, colour, kind))
    return out


# -- the test ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from qualcode.display import code_colors

    folder = tmp_path_factory.mktemp("browser")
    project = build_study(folder / "study.qualcode")
    try:
        document = project.documents[DOCUMENT]
        suggestions = project.codings(document=DOCUMENT, status="suggested")
        colours = code_colors(project.codebook)
        probe, shot = render(page_html(project), folder, "page")
        yield {"probe": probe, "shot": shot, "text": document.text, "colours": colours,
               "suggestions": suggestions, "project": project}
    finally:
        project.close()


def test_text_is_intact(rendered):
    assert rendered["probe"]["text"] == rendered["text"]


def test_highlights_are_present_and_coloured(rendered):
    from PIL import Image

    probe = rendered["probe"]
    marks = probe["marks"]
    assert len(marks) > 20
    image = Image.open(rendered["shot"]).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    checked, lines = 0, set()
    for mark in marks:
        box = mark["box"]
        if (box is None or box["w"] < 60 or box["y"] < 0
                or box["y"] + box["h"] > probe["viewport"]["h"]):
            continue
        left, right = round(box["x"]) + 2, round(box["x"] + box["w"]) - 2
        top, bottom = round(box["y"]) + 2, round(box["y"] + box["h"])
        pad = int(re.search(r"padding-bottom:(\d+)px", mark["style"]).group(1))
        # the tint behind the words: the most common colour above the underlines
        body = Counter(image.getpixel((x, y)) for x in range(left, right, 2)
                       for y in range(top, bottom - pad - 1))
        assert close(body.most_common(1)[0][0], parse_rgb(mark["bg"])), mark
        # each underline: the most common colour of its rows, at its lane's height
        for offset, colour, kind in underlines(mark["style"]):
            line = Counter(image.getpixel((x, y)) for x in range(left, right)
                           for y in range(bottom - offset - 2, bottom - offset))
            assert close(line.most_common(1)[0][0], hex_rgb(colour)), (offset, colour, mark)
            lines.add(kind)
        checked += 1
    assert checked >= 6 and lines == {"dashed", "solid"}


def test_overlaps_are_drawn(rendered):
    marks = rendered["probe"]["marks"]
    overlapping = [m for m in marks if " " in m["codes"]]
    assert overlapping, "no run carries two codes"
    for mark in overlapping:  # one underline per coding
        assert mark["style"].count("gradient(") == len(mark["ids"].split()) >= 2


def test_tags_show_code_names(rendered):
    tags = rendered["probe"]["tags"]
    book = rendered["project"].codebook
    assert tags
    for tag in tags:
        assert tag["content"] == json.dumps(tag["label"])  # the generated text: "Name"
        assert tag["label"] in {c.name for c in book}
        assert tag["box"]["w"] > 10
    accepted = [t for t in tags if "qc-accepted" in t["status"]]
    for tag in accepted:
        code = next(c for c in book if c.name == tag["label"])
        assert close(parse_rgb(tag["bg"]), hex_rgb(rendered["colours"][code.id]), 0)


def test_legend_colours(rendered):
    swatches = rendered["probe"]["swatches"]
    assert len(swatches) >= 5
    for swatch in swatches:
        assert close(parse_rgb(swatch["bg"]), hex_rgb(rendered["colours"][swatch["code"]]), 0)


def test_review_table_is_usable(rendered):
    table = rendered["probe"]["table"]
    suggestions = rendered["suggestions"]
    assert table["headers"] == ["#", "document", "code", "confidence", "reason", "passage",
                                "status", "coder"]
    assert table["scroll"] <= table["container"] + 1, "the table overflows sideways"
    assert table["page_scroll"] <= rendered["probe"]["viewport"]["w"]
    rows = table["rows"]
    assert [int(r["id"]) for r in rows] == [c.id for c in suggestions]
    project = rendered["project"]
    for row, coding in zip(rows, suggestions, strict=True):
        assert 20 < row["height"] < 600
        assert row["narrowest"] >= 14  # no column squeezed to nothing
        assert abs(row["bar"] - 60 * float(row["confidence"])) <= 1.5
        words = project.text_of(coding)
        if len(words) <= 480:
            assert row["mark"] == words and words in row["passage"]
        else:  # a long passage keeps its opening and its end, with "[…]" between
            head, tail = row["mark"].split(" […] ")
            assert words.startswith(head) and words.endswith(tail)
            assert words[len(head)] == " " and words[-len(tail) - 1] == " "  # whole words
        assert close(parse_rgb(row["chip"]), hex_rgb(rendered["colours"][coding.code_id]), 0)


# -- screenshots for the README ------------------------------------------------------------------
def main(out: Path = ROOT / "docs") -> None:
    """Write ``docs/screenshot-document.png`` (the top of the coded document) and
    ``docs/screenshot-review.png`` (the review table)."""
    import tempfile

    from qualcode.display import codings_html, page

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project = build_study(folder / "study.qualcode")
        try:
            _, shot = render(page_html(project), folder, "page")
            table = codings_html(project.codings(document=DOCUMENT, status="suggested")[:4],
                                 project)
            _, review = render(page(table + _PROBE_TARGETS), folder, "review")
        finally:
            project.close()
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, out / "screenshot-document.png")
        _cropped(review, out / "screenshot-review.png")
    print(out / "screenshot-document.png", out / "screenshot-review.png")


def _cropped(source: Path, target: Path, margin: int = 16) -> None:
    """Copy a screenshot without the blank page below its content."""
    from PIL import Image, ImageChops

    image = Image.open(source).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    bottom = min(image.height, (box[3] if box else image.height) + margin)
    image.crop((0, 0, image.width, bottom)).save(target, optimize=True)


# render() probes a document view too; an empty one keeps the probe happy on a table page.
_PROBE_TARGETS = ('<div class="qc-doc" style="display:none"><div class="qc-text"></div>'
                  "</div>")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
