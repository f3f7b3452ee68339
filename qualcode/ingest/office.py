"""Word (``.docx``) and OpenDocument (``.odt``) transcripts.

The document text is the file's paragraphs in reading order, tables included (each cell's
paragraphs in row order), joined by a blank line; a line break inside a paragraph is a
``\\n`` and a tab a ``\\t``. Empty paragraphs are left out. Comments, footnotes, tracked
deletions and images are not part of the text; tracked insertions and the text of content
controls are. The title in the file's properties, when set, becomes the ``title``
attribute. Speaker turns are then parsed as for plain text.

Both formats are zip archives: they are checked by :mod:`qualcode.safezip` before anything
is read, and ODT's XML is parsed with DTDs refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from qualcode.errors import ReaderError, UnsafeInputError
from qualcode.ingest.base import ParsedSource, register_reader
from qualcode.ingest.text import TRANSCRIPT_OPTIONS, source_from_text
from qualcode.model import normalise_text
from qualcode.safezip import check_archive, open_zip, parse_xml

__all__ = ["odt_paragraphs", "read_docx", "read_odt"]

PARAGRAPH_SEPARATOR = "\n\n"


def _join(paragraphs: Iterator[str] | list[str], path: Path) -> str:
    text = normalise_text(PARAGRAPH_SEPARATOR.join(p for p in paragraphs if p.strip()))
    if not text.strip():
        raise ReaderError(
            "The document has no text (an empty document, or only images). Check that it "
            "is the transcript you meant, or leave it out.",
            path=path,
        )
    return text


# -- DOCX ------------------------------------------------------------------------------
@register_reader(".docx", options=TRANSCRIPT_OPTIONS)
def read_docx(path: Path, *, document_id: str, encoding: str | None = None,
              unlabelled: str = "auto") -> list[ParsedSource]:
    """A Word transcript (python-docx): paragraphs and tables' text in order."""
    check_archive(path)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with path.open("rb") as handle:  # our own handle: closed even when python-docx fails
            document = docx.Document(handle)
        paragraphs = list(_docx_blocks(document._body))
        title = (document.core_properties.title or "").strip()
    except PackageNotFoundError:
        raise ReaderError(
            "This is not a Word .docx file (a .doc or another format renamed?). Open it in "
            "Word or LibreOffice and save it as .docx.",
            path=path,
        ) from None
    except Exception as exc:  # python-docx raises many kinds for damaged files
        raise ReaderError(
            f"The Word file cannot be read ({type(exc).__name__}: {exc}); open it in Word "
            "and save it again.",
            path=path,
        ) from None
    text = _join(paragraphs, path)
    attributes = {}
    if title:
        attributes["title"] = title
    return [source_from_text(document_id, text, path, "docx", attributes=attributes,
                             unlabelled=unlabelled)]


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# Elements around paragraphs and tables whose content is running text: content controls
# (Word templates, transcription services), custom XML and smart tags.
_DOCX_WRAPPERS = frozenset(f"{_W}{name}" for name in ("sdt", "sdtContent", "customXml",
                                                      "smartTag"))


def _docx_blocks(container: Any) -> Iterator[str]:
    from docx.table import Table

    for element in _docx_block_elements(container._element):
        if element.tag == f"{_W}tbl":
            yield from _docx_table(Table(element, container))
        else:
            yield _docx_paragraph_text(element)


def _docx_block_elements(element: Any) -> Iterator[Any]:
    for child in element:
        if child.tag in (f"{_W}p", f"{_W}tbl"):
            yield child
        elif child.tag in _DOCX_WRAPPERS:
            yield from _docx_block_elements(child)


@lru_cache(maxsize=1)
def _docx_runs() -> Any:
    from lxml import etree

    # every run of the paragraph but deleted or moved-away text (change tracking), text
    # boxes (drawings) and the fallback copy of alternate content
    return etree.XPath(
        ".//w:r[not(ancestor::w:del or ancestor::w:moveFrom or ancestor::w:txbxContent "
        "or ancestor::mc:Fallback)]",
        namespaces={"w": _W[1:-1],
                    "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006"})


def _docx_paragraph_text(paragraph: Any) -> str:
    # python-docx's Paragraph.text reads only the paragraph's own runs and hyperlinks: text
    # typed with Track Changes on, in a content control, a field or a smart tag was lost
    return "".join(run.text for run in _docx_runs()(paragraph))


def _docx_table(table: Any) -> Iterator[str]:
    seen: set[Any] = set()  # holding the elements keeps their identity stable
    for row in table.rows:
        for cell in row.cells:
            # a merged cell appears once per grid column it spans
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            yield from _docx_blocks(cell)


# -- ODT -------------------------------------------------------------------------------
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_DC = "http://purl.org/dc/elements/1.1/"
_P, _H = f"{{{_TEXT}}}p", f"{{{_TEXT}}}h"
_S, _TAB, _BREAK = f"{{{_TEXT}}}s", f"{{{_TEXT}}}tab", f"{{{_TEXT}}}line-break"
_C = f"{{{_TEXT}}}c"
# Elements whose content is not the document's running text.
_SKIP = frozenset({
    f"{{{_TEXT}}}note",                 # footnotes and endnotes
    f"{{{_TEXT}}}tracked-changes",      # deleted text kept for change tracking
    f"{{{_OFFICE}}}annotation",         # comments
    f"{{{_OFFICE}}}annotation-end",
    f"{{{_TEXT}}}sequence-decls",
    f"{{{_TEXT}}}variable-decls",
    f"{{{_TEXT}}}user-field-decls",
    f"{{{_OFFICE}}}forms",
    f"{{{_TABLE}}}table-header-columns",
    f"{{{_TABLE}}}table-columns",
    f"{{{_TABLE}}}table-column",
})
_SKIP_NAMESPACES = ("{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}",)
_ODT_MIMETYPES = ("application/vnd.oasis.opendocument.text",
                  "application/vnd.oasis.opendocument.text-template")


@register_reader(".odt", options=TRANSCRIPT_OPTIONS)
def read_odt(path: Path, *, document_id: str, encoding: str | None = None,
             unlabelled: str = "auto") -> list[ParsedSource]:
    """An OpenDocument text transcript (LibreOffice, Google Docs export)."""
    attributes: dict[str, str] = {}
    with open_zip(path) as archive:
        if archive.find("mimetype") is not None:
            mimetype = archive.read("mimetype", max_size=200).decode("ascii", "replace").strip()
            if mimetype and mimetype not in _ODT_MIMETYPES:
                raise ReaderError(
                    f"This is not an OpenDocument text file (its type is {mimetype}); save "
                    "the transcript as .odt or .docx from a word processor.",
                    path=path,
                )
        if archive.find("content.xml") is None:
            raise ReaderError(
                "The file has no content.xml, so it is not an OpenDocument file. Open it in "
                "LibreOffice and save it again as .odt.",
                path=path,
            )
        root = parse_xml(archive.read("content.xml"), f"{path}:content.xml")
        if archive.find("meta.xml") is not None:
            meta = parse_xml(archive.read("meta.xml"), f"{path}:meta.xml")
            title = meta.find(f".//{{{_DC}}}title")
            title_text = "" if title is None else (title.text or "").strip()
            if title_text:
                attributes["title"] = title_text
    body = root.find(f"{{{_OFFICE}}}body")
    office_text = body.find(f"{{{_OFFICE}}}text") if body is not None else None
    if office_text is None:
        raise ReaderError(
            "The file holds no text body (a spreadsheet or presentation?); save the "
            "transcript as an .odt text document.",
            path=path,
        )
    try:
        paragraphs = list(odt_paragraphs(office_text))
    except RecursionError:
        raise UnsafeInputError(
            "Refused: the document's XML is nested too deeply to be a real document.",
            path=path,
        ) from None
    text = _join(paragraphs, path)
    return [source_from_text(document_id, text, path, "odt", attributes=attributes,
                             unlabelled=unlabelled)]


def odt_paragraphs(element: Element) -> Iterator[str]:
    """The text of each ``text:p``/``text:h`` under ``element``, in document order.

    Lists, sections and tables are walked into; ``text:s`` gives its count of spaces,
    ``text:tab`` a tab and ``text:line-break`` a line end.
    """
    for child in element:
        tag = child.tag
        if tag in _SKIP or (isinstance(tag, str) and tag.startswith(_SKIP_NAMESPACES)):
            continue
        if tag in (_P, _H):
            parts: list[str] = []
            _inline(child, parts)
            yield "".join(parts)
        else:
            yield from odt_paragraphs(child)


def _inline(element: Element, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        tag = child.tag
        if tag == _S:
            try:
                count = int(child.get(_C, "1"))
            except ValueError:
                count = 1
            parts.append(" " * max(1, min(count, 1000)))
        elif tag == _TAB:
            parts.append("\t")
        elif tag == _BREAK:
            parts.append("\n")
        elif tag in _SKIP or (isinstance(tag, str) and tag.startswith(_SKIP_NAMESPACES)):
            pass  # its content is not running text, but the text after it (tail) is
        else:
            _inline(child, parts)
        if child.tail:
            parts.append(child.tail)
