"""What REFI-QDA export and import share: the GUID scheme and the code Description layout.

GUIDs are name-based UUIDs (RFC 4122 version 5) in one fixed namespace, so the same project
always exports the same GUIDs, and an importer can recognise a GUID that qualcode derived
from an id (see :func:`code_guid` and the module docstring of
:mod:`qualcode.export.refiqda`).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from qualcode.codebook import slugify
from qualcode.model import Code

NAMESPACE = uuid.UUID("8fcb9641-4115-523f-bb0e-b87f3b7e9024")
"""uuid5(NAMESPACE_DNS, "refi-qda.qualcode"): never change it, or ids stop round-tripping."""

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"


# -- GUIDs ----------------------------------------------------------------------------------
def _guid(*parts: object) -> str:
    # JSON of the parts: unambiguous whatever characters an id holds.
    return str(uuid.uuid5(NAMESPACE, json.dumps(parts, ensure_ascii=False))).upper()


def code_guid(code_id: str) -> str:
    return _guid("code", code_id)


def document_guid(document_id: str, content_hash: str) -> str:
    return _guid("document", document_id, content_hash)


def user_guid(name: str) -> str:
    return _guid("user", name)


def variable_guid(name: str) -> str:
    return _guid("variable", name)


def case_guid(document_guid_: str) -> str:
    return _guid("case", document_guid_)


def selection_guid(document_guid_: str, start: int, end: int, memo: str) -> str:
    return _guid("selection", document_guid_, start, end, memo)


def coding_guid(document_guid_: str, start: int, end: int, code_id: str, coder: str) -> str:
    return _guid("coding", document_guid_, start, end, code_id, coder)


def note_guid(memo_id: int | None, text: str) -> str:
    return _guid("memo", memo_id, text)


def same_guid(a: str | None, b: str | None) -> bool:
    """GUIDs compare without case and without the braces some tools put around them."""
    return a is not None and b is not None and normal_guid(a) == normal_guid(b)


def normal_guid(value: str) -> str:
    return value.strip().strip("{}").lower()


# -- the code Description ----------------------------------------------------------------------
# A REFI-QDA code has one free-text Description. qualcode's definition comes first; the
# other fields follow as labelled sections a person can read (and edit) in NVivo or
# ATLAS.ti:
#
#     A visit because the pupil is absent.
#
#     Include: mentions of missed days
#     Exclude: lateness
#     Examples:
#     - He hadn't been in all week so I went round.
#     Keywords:
#     - attendance
#     qualcode id: attendance
#
# A line of free text that would read as a label is written with a backslash in front.
LIST_LABELS = ("Examples", "Keywords", "Patterns")
TEXT_LABELS = ("Include", "Exclude")
ID_LABEL = "qualcode id"
_LABELS = "|".join((*TEXT_LABELS, *LIST_LABELS, ID_LABEL))
_LABEL_LINE = re.compile(rf"^({_LABELS}):(?: (.*)|)$")
_NEEDS_ESCAPE = re.compile(rf"^\\*({_LABELS}):")
_ESCAPED = re.compile(rf"^\\+({_LABELS}):")


@dataclass(frozen=True)
class DescriptionParts:
    """A code Description read back into qualcode's fields."""

    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    id: str | None = None


def _escape(text: str) -> list[str]:
    return ["\\" + line if _NEEDS_ESCAPE.match(line) else line for line in text.split("\n")]


def _unescape(line: str) -> str:
    return line[1:] if _ESCAPED.match(line) else line


def encode_description(code: Code) -> str:
    """The Description text of a code: definition, then labelled sections."""
    blocks: list[str] = []
    if code.definition:
        blocks.append("\n".join(_escape(code.definition)))
    lines: list[str] = []
    for label, value in (("Include", code.include), ("Exclude", code.exclude)):
        if value:
            first, _, rest = value.partition("\n")
            lines.append(f"{label}: {first}")  # on the label's line: never read as a label
            if rest:
                lines.extend(_escape(rest))
    for label, items in (("Examples", code.examples), ("Keywords", code.keywords),
                         ("Patterns", code.patterns)):
        if items:
            lines.append(f"{label}:")
            for item in items:
                first, *rest = item.split("\n")
                lines.append(f"- {first}")
                lines.extend(f"  {line}" if line else "" for line in rest)
    if code.id != slugify(code.name):
        lines.append(f"{ID_LABEL}: {code.id}")
    if lines:
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def decode_description(text: str) -> DescriptionParts:
    """Split a Description into qualcode's fields (a plain description is all definition)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fields: dict[str, list[str]] = {"definition": []}
    lists: dict[str, list[list[str]]] = {label: [] for label in LIST_LABELS}
    code_id: str | None = None
    current = "definition"
    for line in text.split("\n"):
        match = _LABEL_LINE.match(line)
        if match:
            label, rest = match.group(1), match.group(2) or ""
            if label == ID_LABEL:
                code_id = rest.strip() or None
                continue
            current = label
            if label in LIST_LABELS:
                lists[label].extend([part.strip()] for part in rest.split(";") if part.strip())
            else:
                fields[label] = [rest]
            continue
        if current in LIST_LABELS:
            items = lists[current]
            if line.startswith("- ") or line == "-":
                items.append([line[2:]])
            elif (line.startswith("  ") or not line) and items:
                items[-1].append(line[2:])
            elif line.strip():
                items.append([line.strip()])
        else:
            fields.setdefault(current, []).append(_unescape(line))

    def joined(name: str) -> str:
        return "\n".join(fields.get(name, [])).strip()

    def items(label: str) -> tuple[str, ...]:
        values = ("\n".join(parts).strip() for parts in lists[label])
        return tuple(v for v in values if v)

    return DescriptionParts(
        definition=joined("definition"),
        include=joined("Include"),
        exclude=joined("Exclude"),
        examples=items("Examples"),
        keywords=items("Keywords"),
        patterns=items("Patterns"),
        id=code_id,
    )


# -- messages -------------------------------------------------------------------------------
# -- notes ------------------------------------------------------------------------------------
def note_title(text: str) -> str:
    """The name qualcode gives a memo's Note: its first line, cut at 60 characters."""
    first = text.strip().split("\n", 1)[0].strip()
    return first if len(first) <= 60 else first[:59].rstrip() + "…"


# -- XML text ---------------------------------------------------------------------------------
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text XML 1.0 can hold: control characters (other than tab and line ends) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def has_unsafe_xml(text: str) -> bool:
    return _NOT_XML.search(text) is not None


_DATETIME = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?$"
)


def xsd_datetime(value: str | None) -> str | None:
    """``value`` when it is a valid xsd:dateTime, else None (the attribute is left out)."""
    if value and _DATETIME.match(value):
        return value
    return None
