"""Write REFI-QDA strictly: project.qde and codebook .qdc XML, valid against QDA-XML 1.0.

Every GUID is derived (see :mod:`qualcode.export._refiqda_common`), every list is in a
fixed order and no timestamp of the export itself is written, so the same project always
gives the same bytes.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from qualcode._text import counted
from qualcode.export._refiqda_common import (
    CODEBOOK_NS,
    PROJECT_NS,
    case_guid,
    code_guid,
    coding_guid,
    document_guid,
    encode_description,
    note_guid,
    note_title,
    selection_guid,
    user_guid,
    variable_guid,
    xml_safe,
    xsd_datetime,
)
from qualcode.model import Codebook, Coding, Document, Memo

_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_COLOUR = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")  # the schema's RGBType


@dataclass
class ProjectXml:
    """The project.qde bytes and the source files that go beside it."""

    xml: bytes
    sources: list[tuple[str, bytes]]  # (member name, UTF-8 text)
    users: int = 0
    codings: int = 0
    memos: int = 0
    skipped: list[str] = field(default_factory=list)
    replaced_characters: list[str] = field(default_factory=list)


class _Builder:
    def __init__(self, namespace: str) -> None:
        from lxml import etree

        self.etree = etree
        self.ns = namespace
        self.replaced: set[str] = set()
        self.dropped_colours: list[str] = []

    def element(self, parent: Any, tag: str, **attributes: str | None) -> Any:
        attrs = {k: self.safe(v, f"{tag}/@{k}") for k, v in attributes.items() if v is not None}
        if parent is None:
            return self.etree.Element(f"{{{self.ns}}}{tag}", attrs, nsmap={None: self.ns})
        return self.etree.SubElement(parent, f"{{{self.ns}}}{tag}", attrs)

    def text(self, parent: Any, tag: str, value: str) -> Any:
        child = self.element(parent, tag)
        child.text = self.safe(value, tag)
        return child

    def safe(self, value: str, where: str) -> str:
        cleaned = xml_safe(value)
        if cleaned != value:
            self.replaced.add(where)
        return cleaned

    def tostring(self, root: Any) -> bytes:
        # lxml's own declaration uses single quotes; some tools only read double ones.
        body = self.etree.tostring(root, xml_declaration=False, encoding="utf-8",
                                   pretty_print=True)
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _codes(builder: _Builder, parent: Any, codebook: Codebook, code_id: str | None,
           note_refs: dict[str, list[str]] | None) -> None:
    for code in codebook.children(code_id):
        colour = code.color if code.color and _COLOUR.match(code.color) else None
        if code.color and colour is None:
            builder.dropped_colours.append(code.id)
        element = builder.element(parent, "Code", guid=code_guid(code.id), name=code.name,
                                  isCodable="true", color=colour)
        description = encode_description(code)
        if description:
            builder.text(element, "Description", description)
        for ref in (note_refs or {}).get(code.id, []):
            builder.element(element, "NoteRef", targetGUID=ref)
        _codes(builder, element, codebook, code.id, note_refs)


def codebook_xml(codebook: Codebook, *, origin: str) -> bytes:
    """A .qdc codebook: ``<CodeBook>`` in the codebook namespace, codes nested."""
    builder = _Builder(CODEBOOK_NS)
    root = builder.element(None, "CodeBook", origin=origin)
    codes = builder.element(root, "Codes")
    _codes(builder, codes, codebook, None, None)
    return builder.tostring(root)


def project_xml(
    *,
    name: str,
    origin: str,
    codebook: Codebook | None,
    documents: Sequence[Document],
    codings: Iterable[Coding],
    memos: Sequence[Memo],
) -> ProjectXml:
    """project.qde and the sources/ files for a project's documents, codings and memos.

    Codings whose code is not in the codebook, and memos on things not exported, are left
    out and listed in ``skipped``.
    """
    builder = _Builder(PROJECT_NS)
    skipped: list[str] = []
    doc_guids = {d.id: document_guid(d.id, d.content_hash) for d in documents}
    known_codes = {c.id for c in codebook} if codebook is not None else set()

    exported: list[Coding] = []
    unknown: set[str] = set()
    seen: set[tuple[str, int, int, str, str]] = set()
    for coding in codings:
        key = (*coding.key, coding.coder)
        if coding.document_id not in doc_guids or key in seen:
            continue  # the same code on the same words by the same coder: one coding
        seen.add(key)
        if coding.code_id not in known_codes:
            unknown.add(coding.code_id)
            continue
        exported.append(coding)
    if unknown:
        skipped.append(f"Codings with codes that are not in the codebook were left out: "
                       f"{', '.join(sorted(unknown))}.")
    by_id = {c.id: c for c in exported if c.id is not None}

    # memos -> Notes, each referenced from what it is attached to
    note_refs: dict[tuple[str, Any], list[str]] = {}
    notes: list[tuple[str, Memo]] = []
    orphans = 0
    for memo in sorted(memos, key=lambda m: (m.id is None, m.id or 0)):
        if memo.coding_id is not None:
            coding = by_id.get(memo.coding_id)
            place: tuple[str, Any] | None = ("coding", (*coding.key, coding.coder)) if (
                coding is not None) else None
        elif memo.code_id is not None:
            place = ("code", memo.code_id) if memo.code_id in known_codes else None
        elif memo.document_id is not None:
            place = ("document", memo.document_id) if memo.document_id in doc_guids else None
        else:
            place = ("project", None)
        if place is None:
            orphans += 1
            continue
        guid = note_guid(memo.id, memo.text)
        notes.append((guid, memo))
        note_refs.setdefault(place, []).append(guid)
    if orphans:
        skipped.append(f"{counted(orphans, 'memo')} on codings, codes or documents that were not "
                       "exported.")

    users = sorted({c.coder for c in exported} | {m.author for _, m in notes if m.author})
    root = builder.element(None, "Project", name=name, origin=origin)
    root.set(f"{{{_XSI}}}schemaLocation", f"{PROJECT_NS} Project.xsd")
    if users:
        users_element = builder.element(root, "Users")
        for user in users:
            builder.element(users_element, "User", guid=user_guid(user), name=user)
    if codebook is not None and len(codebook):
        book = builder.element(root, "CodeBook")
        codes = builder.element(book, "Codes")
        code_refs = {k[1]: v for k, v in note_refs.items() if k[0] == "code"}
        _codes(builder, codes, codebook, None, code_refs)

    variables = sorted({k for d in documents for k in d.attributes})
    if variables:
        element = builder.element(root, "Variables")
        for variable in variables:
            builder.element(element, "Variable", guid=variable_guid(variable), name=variable,
                            typeOfVariable="Text")
        cases = builder.element(root, "Cases")
        for document in documents:
            if not document.attributes:
                continue
            case = builder.element(cases, "Case", guid=case_guid(doc_guids[document.id]),
                                   name=document.id)
            _variable_values(builder, case, document)
            builder.element(case, "SourceRef", targetGUID=doc_guids[document.id])

    sources_out: list[tuple[str, bytes]] = []
    if documents:
        sources = builder.element(root, "Sources")
        grouped = _selections(exported)
        for document in documents:
            guid = doc_guids[document.id]
            member = f"{guid}.txt"
            data = document.text.encode("utf-8")
            if document.text.startswith("\ufeff"):  # else a reader takes it for a mark
                data = codecs.BOM_UTF8 + data
            sources_out.append((f"sources/{member}", data))
            element = builder.element(sources, "TextSource", guid=guid, name=document.id,
                                      plainTextPath=f"internal://{member}")
            for (start, end, memo), group in grouped.get(document.id, []):
                _selection(builder, element, document, guid, start, end, memo, group,
                           note_refs)
            for ref in note_refs.get(("document", document.id), []):
                builder.element(element, "NoteRef", targetGUID=ref)
            _variable_values(builder, element, document)

    if notes:
        notes_element = builder.element(root, "Notes")
        for guid, memo in notes:
            note = builder.element(
                notes_element, "Note", guid=guid, name=note_title(memo.text),
                creatingUser=user_guid(memo.author) if memo.author else None,
                creationDateTime=xsd_datetime(memo.created),
            )
            builder.text(note, "PlainTextContent", memo.text)
    for ref in note_refs.get(("project", None), []):
        builder.element(root, "NoteRef", targetGUID=ref)
    if builder.dropped_colours:
        skipped.append("Colours that are not '#rrggbb' were left out for codes: "
                       f"{', '.join(builder.dropped_colours)}.")
    return ProjectXml(
        xml=builder.tostring(root), sources=sources_out, users=len(users),
        codings=len(exported), memos=len(notes), skipped=skipped,
        replaced_characters=sorted(builder.replaced),
    )


def _variable_values(builder: _Builder, parent: Any, document: Document) -> None:
    for key in sorted(document.attributes):
        value = builder.element(parent, "VariableValue")
        builder.element(value, "VariableRef", targetGUID=variable_guid(key))
        builder.text(value, "TextValue", str(document.attributes[key]))


def _selections(codings: list[Coding]
                ) -> dict[str, list[tuple[tuple[int, int, str], list[Coding]]]]:
    # One selection per span and coding memo (the selection's Description): codings of the
    # same words with the same memo share it, as in ATLAS.ti's quotations.
    groups: dict[str, dict[tuple[int, int, str], list[Coding]]] = {}
    for coding in codings:
        groups.setdefault(coding.document_id, {}).setdefault(
            (coding.start, coding.end, coding.memo), []).append(coding)
    return {
        doc: sorted(((key, sorted(group, key=lambda c: (c.code_id, c.coder)))
                     for key, group in spans.items()), key=lambda item: item[0])
        for doc, spans in groups.items()
    }


def _selection(builder: _Builder, parent: Any, document: Document, doc_guid: str, start: int,
               end: int, memo: str, codings: list[Coding],
               note_refs: dict[tuple[str, Any], list[str]]) -> None:
    created = sorted(filter(None, (xsd_datetime(c.created) for c in codings)))
    excerpt = " ".join(document.text[start:end].split())
    element = builder.element(
        parent, "PlainTextSelection", guid=selection_guid(doc_guid, start, end, memo),
        name=excerpt if len(excerpt) <= 80 else excerpt[:79].rstrip() + "…",
        startPosition=str(start), endPosition=str(end),
        creatingUser=user_guid(codings[0].coder),
        creationDateTime=created[0] if created else None,
    )
    if memo:
        builder.text(element, "Description", memo)
    for coding in codings:
        element_coding = builder.element(
            element, "Coding",
            guid=coding_guid(doc_guid, start, end, coding.code_id, coding.coder),
            creatingUser=user_guid(coding.coder),
            creationDateTime=xsd_datetime(coding.created),
        )
        builder.element(element_coding, "CodeRef", targetGUID=code_guid(coding.code_id))
        for ref in note_refs.get(("coding", (*coding.key, coding.coder)), []):
            builder.element(element_coding, "NoteRef", targetGUID=ref)
