"""Read REFI-QDA files tolerantly: a .qdpx project or a .qdc codebook, into qualcode values.

Nothing here writes anything: :func:`read_qdpx` returns a :class:`RefiProject` (documents,
codebook, codings, memos, and what could not be imported), which
:func:`qualcode.export.refiqda.import_qdpx` then stores.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse
from xml.etree.ElementTree import Element

from qualcode._text import counted
from qualcode.codebook import Problem, slugify
from qualcode.errors import CodebookError, ReaderError
from qualcode.export._refiqda_common import (
    code_guid,
    decode_description,
    document_guid,
    normal_guid,
    note_title,
)
from qualcode.export._refiqda_positions import (
    Evidence,
    Reading,
    Selection,
    SourceText,
    choose_reading,
)
from qualcode.model import Code, Codebook, Coding, Document, content_hash, now_iso

TOOLS = ("auto", "nvivo", "atlasti", "maxqda", "qualcoder")
POSITIONS = ("auto", "codepoints", "utf16")

# Units a tool is known to count in: forced when the user names the tool (or qualcode
# itself wrote the file). NVivo: verified on a real export (UTF-16, CRLF as two, no BOM).
# QualCoder is Python and counts str characters.
_FORCED_UNITS = {"nvivo": "utf16", "qualcoder": "codepoints", "qualcode": "codepoints"}
# Not verified on files with their sources: the evidence decides, UTF-16 (what their
# platforms' strings count) only breaks ties.
_PREFERRED_UNITS = {"atlasti": "utf16", "maxqda": "utf16"}

MAX_QDC_BYTES = 64 * 1024 * 1024
MAX_EXTERNAL_BYTES = 256 * 1024 * 1024
_TEXT_SUFFIXES = (".txt", ".text")
_NAME_SUFFIX = re.compile(r"\.(?:docx?|txt|rtf|odt|pdf|md|html?)$", re.I)
_KEY_VALUE_SET = re.compile(r"^\s*([^:]{1,40}?)\s*::?\s+(.+?)\s*$")
_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


# -- public results -----------------------------------------------------------------------------
@dataclass(frozen=True)
class RefiMemo:
    """A memo read from a REFI-QDA file, attached to at most one thing.

    ``coding`` is the coding's key (document, start, end, code, coder): the coding has no
    id until it is stored.
    """

    text: str
    document: str | None = None
    code: str | None = None
    coding: tuple[str, int, int, str, str] | None = None
    author: str | None = None


@dataclass(frozen=True)
class RefiProject:
    """What a .qdpx holds, in qualcode's terms, and what could not be brought over.

    ``positions`` says how selection positions were read; ``missing_sources`` names text
    sources whose text is not in the archive (their codings are skipped); ``skipped``
    lists what qualcode does not import (pictures, audio, graphs, ...); ``notes`` say how
    things were mapped (sets, ids, whole-source codings).
    """

    name: str
    origin: str
    codebook: Codebook
    documents: tuple[Document, ...]
    codings: tuple[Coding, ...]
    memos: tuple[RefiMemo, ...]
    positions: str = ""
    missing_sources: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "origin": self.origin,
            "codes": len(self.codebook),
            "documents": [d.id for d in self.documents],
            "codings": len(self.codings),
            "memos": len(self.memos),
            "coders": sorted({c.coder for c in self.codings}),
            "positions": self.positions,
            "missing_sources": list(self.missing_sources),
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }


# -- XML helpers (namespace-blind: tools disagree on namespaces) ---------------------------------
def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _kids(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [child for child in element if _local(child.tag) == name]


def _kid(element: Element | None, name: str) -> Element | None:
    found = _kids(element, name)
    return found[0] if found else None


def _text_of(element: Element | None, name: str) -> str:
    child = _kid(element, name)
    return "".join(child.itertext()) if child is not None else ""


def _guid_of(element: Element, attribute: str = "guid") -> str | None:
    value = element.get(attribute)
    return normal_guid(value) if value and value.strip() else None


def _refs(element: Element | None, name: str) -> list[str]:
    # targetGUID per Project.xsd; Codebook.xsd's MemberCode (and some writers) use guid
    out = []
    for ref in _kids(element, name):
        guid = _guid_of(ref, "targetGUID") or _guid_of(ref, "guid")
        if guid:
            out.append(guid)
    return out


def _name(value: str | None, default: str) -> str:
    """A name as written (names are data: kept exactly), or ``default`` when blank."""
    return value if value and value.strip() else default


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


# -- codes ------------------------------------------------------------------------------------
@dataclass
class _RawCode:
    guid: str
    name: str
    parent: str | None
    color: str | None
    description: str
    note_refs: list[str] = field(default_factory=list)


def _walk_codes(container: Element | None, parent: str | None, depth: int = 0
                ) -> Iterator[_RawCode]:
    if depth > 200:
        raise ReaderError("Codes are nested more than 200 deep; refused.")
    for element in _kids(container, "Code"):
        guid = _guid_of(element) or code_guid(f"unnamed-{id(element)}").lower()
        yield _RawCode(
            guid=guid,
            name=_name(element.get("name"), "code"),
            parent=parent,
            color=element.get("color"),
            description=_text_of(element, "Description"),
            note_refs=_refs(element, "NoteRef"),
        )
        yield from _walk_codes(element, guid, depth + 1)


def _build_codebook(raw_codes: list[_RawCode], name: str, notes: list[str]
                    ) -> tuple[Codebook, dict[str, str]]:
    """Codes with readable ids; returns the codebook and GUID -> code id.

    An id is recovered when the GUID is the one qualcode derives from it (its own export);
    otherwise it is the slug of the name, made unique.
    """
    seen: set[str] = set()
    for raw in raw_codes:  # a GUID used twice: the later code gets one of its own
        if raw.guid in seen:
            notes.append(f"Code '{raw.name}' repeats the GUID {raw.guid}; codings that refer "
                         "to it go to the first code with it.")
            raw.guid = f"{raw.guid}#{len(seen)}"
        seen.add(raw.guid)
    parts = {c.guid: decode_description(c.description) for c in raw_codes}
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for raw in raw_codes:  # first pass: ids qualcode wrote itself
        for candidate in (parts[raw.guid].id, slugify(raw.name)):
            if candidate and candidate not in taken and normal_guid(
                    code_guid(candidate)) == raw.guid:
                ids[raw.guid] = candidate
                taken.add(candidate)
                break
    for raw in raw_codes:  # second pass: slugs, made unique
        if raw.guid in ids:
            continue
        base = slugify(raw.name)
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        ids[raw.guid] = candidate
        taken.add(candidate)

    # ATLAS.ti names sub-codes "Parent::child" in a flat list: nest them under the parent.
    by_name: dict[tuple[str | None, str], str] = {(r.parent, r.name): r.guid for r in raw_codes}
    parents = {r.guid: r.parent for r in raw_codes}
    nested = []
    for raw in raw_codes:
        prefix, sep, _ = raw.name.rpartition("::")
        if sep and prefix and (raw.parent, prefix) in by_name:
            parent = by_name[(raw.parent, prefix)]
            if parent != raw.guid:
                parents[raw.guid] = parent
                nested.append(raw.name)
    if nested:
        listed = ", ".join(nested[:5]) + (", ..." if len(nested) > 5 else "")
        notes.append(f"{counted(len(nested), 'code')} named 'Parent::child' nested under the code "
                     f"named 'Parent' ({listed}).")

    bad_colours = []
    codes = []
    for raw in raw_codes:
        p = parts[raw.guid]
        colour = (raw.color or "").strip() or None
        if colour and not _HEX_COLOUR.match(colour):
            bad_colours.append(raw.name)
            colour = None
        codes.append(Code(
            id=ids[raw.guid], name=raw.name,
            parent=ids[parents[raw.guid]] if parents[raw.guid] else None,
            definition=p.definition, include=p.include, exclude=p.exclude,
            examples=p.examples, keywords=p.keywords, patterns=p.patterns, color=colour,
        ))
    if bad_colours:
        notes.append(f"Colours that are not '#rrggbb' were dropped: {', '.join(bad_colours)}.")
    return Codebook(name, tuple(_tree_order(codes))), ids


def _tree_order(codes: list[Code]) -> list[Code]:
    # Parents before children, siblings in file order (nesting may have moved some).
    children: dict[str | None, list[Code]] = {}
    for code in codes:
        children.setdefault(code.parent, []).append(code)
    out: list[Code] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        code = stack.pop()
        out.append(code)
        stack.extend(reversed(children.get(code.id, [])))
    return out


# -- .qdc -------------------------------------------------------------------------------------
def load_qdc(path: Path) -> tuple[Codebook | None, list[Problem]]:
    """Read a REFI-QDA codebook (.qdc); the loader :func:`qualcode.codebook.load_codebook`
    uses. Returns the codebook (None when it cannot be read) and the problems found."""
    from qualcode.safezip import parse_xml

    path = Path(path)
    where = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, [Problem("error", f"Cannot read the file: {exc.strerror or exc}.", where)]
    if size > MAX_QDC_BYTES:
        return None, [Problem("error", f"The file is {size:,} bytes; a codebook is never this "
                              "large, so it was refused.", where)]
    try:
        root = parse_xml(path.read_bytes(), where)
    except ReaderError as exc:
        return None, [Problem("error", str(exc.args[0]).split(": ", 1)[-1], where, exc.line)]
    book_element = root if _local(root.tag) == "CodeBook" else _kid(root, "CodeBook")
    if book_element is None:
        return None, [Problem("error", f"This is not a REFI-QDA codebook: its root element is "
                              f"<{_local(root.tag)}>, not <CodeBook>.", where, None)]
    notes: list[str] = []
    try:
        raw_codes = list(_walk_codes(_kid(book_element, "Codes"), None))
    except ReaderError as exc:
        return None, [Problem("error", str(exc), where)]
    if not raw_codes:
        return None, [Problem("error", "The codebook holds no codes.", where)]
    codebook, ids = _build_codebook(raw_codes, path.stem, notes)
    problems = [Problem("warning", note, where) for note in notes]
    for code in codebook:
        if not code.definition:
            problems.append(Problem("warning", f"Code '{code.id}' has an empty definition; a "
                                    "second coder (or the semantic coder) needs one.", where,
                                    field="definition", code=code.id))
    sets_element = _kid(book_element, "Sets") or _kid(root, "Sets")
    for element in _kids(sets_element, "Set"):
        members = [ids[g] for g in _refs(element, "MemberCode") if g in ids]
        problems.append(Problem(
            "warning", f"Code set '{element.get('name', '')}' ({len(members)} codes) is not "
            "kept: qualcode has no code groups; import the .qdpx project to keep sets as "
            "memos.", where))
    return codebook, problems


def read_qdc(path: str | PathLike[str]) -> Codebook:
    """A REFI-QDA codebook (.qdc) as a :class:`Codebook` (raises on errors)."""
    codebook, problems = load_qdc(Path(path))
    errors = [p for p in problems if p.severity == "error"]
    if errors or codebook is None:
        first = errors[0] if errors else Problem("error", "Not a codebook.", str(path))
        raise CodebookError(first.message, path=first.path, line=first.line)
    return codebook


# -- .qdpx ------------------------------------------------------------------------------------
@dataclass
class _RawCoding:
    guid: str | None
    code: str | None
    user: str | None
    created: str | None
    note_refs: list[str]


@dataclass
class _RawSelection:
    guid: str | None
    start: int
    end: int
    name: str
    description: str
    user: str | None
    created: str | None
    codings: list[_RawCoding]
    note_refs: list[str]


@dataclass
class _RawSource:
    guid: str
    name: str
    kind: str  # "TextSource" or "PDF text"
    text: SourceText | None
    selections: list[_RawSelection]
    whole_codings: list[_RawCoding]
    note_refs: list[str]
    variables: list[tuple[str, str]]
    description: str
    missing: str = ""  # why the text could not be read


def _raw_coding(element: Element) -> _RawCoding:
    refs = _refs(element, "CodeRef")
    return _RawCoding(
        guid=_guid_of(element), code=refs[0] if refs else None,
        user=_guid_of(element, "creatingUser"), created=element.get("creationDateTime"),
        note_refs=_refs(element, "NoteRef"),
    )


def _raw_selections(element: Element, bad: list[str]) -> list[_RawSelection]:
    out = []
    for sel in _kids(element, "PlainTextSelection"):
        start, end = _int(sel.get("startPosition")), _int(sel.get("endPosition"))
        if start is None or end is None:
            bad.append(sel.get("guid") or "?")
            continue
        out.append(_RawSelection(
            guid=_guid_of(sel), start=start, end=end, name=sel.get("name") or "",
            description=_text_of(sel, "Description").strip(),
            user=_guid_of(sel, "creatingUser"), created=sel.get("creationDateTime"),
            codings=[_raw_coding(c) for c in _kids(sel, "Coding")],
            note_refs=_refs(sel, "NoteRef"),
        ))
    return out


def _variable_values(element: Element) -> list[tuple[str, str]]:
    values = []
    for value in _kids(element, "VariableValue"):
        refs = _refs(value, "VariableRef")
        for kind in ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue",
                     "DateTimeValue"):
            child = _kid(value, kind)
            if child is not None and refs:
                values.append((refs[0], "".join(child.itertext())))
                break
    return values


class _Archive:
    """Finds a source's file: in the archive (internal://), or beside it on disk."""

    def __init__(self, archive: Any, source: Path | None, base_path: str) -> None:
        self.archive = archive
        self.source = source
        self.base_path = base_path
        self.external: list[str] = []
        names = archive.names
        self._by_basename: dict[str, str] = {}
        for name in names:
            self._by_basename.setdefault(PurePosixPath(name).name.casefold(), name)

    def read(self, path: str) -> tuple[bytes | None, str]:
        """The bytes at a REFI-QDA path, or None with the reason.

        ``internal://x`` is ``sources/x`` in the archive (any case, any folder);
        ``relative://x`` is beside the project's basePath or the archive; ``absolute://``
        and ``file://`` are paths on this computer; a bare path is tried in the archive,
        then beside it.
        """
        path = path.strip()
        scheme, found_scheme, rest = path.partition("://")
        scheme = scheme.casefold() if found_scheme else ""
        name = rest if scheme else path
        if scheme in ("internal", ""):
            for candidate in (f"sources/{name}", name):
                if self.archive.find(candidate) is not None:
                    return self.archive.read(candidate), ""
            member = self._by_basename.get(PurePosixPath(name.replace("\\", "/")).name.casefold())
            if member is not None:
                return self.archive.read(member), ""
            if scheme:
                return None, f"{path} is not in the archive"
        if scheme in ("relative", ""):
            roots = [Path(self.base_path)] if self.base_path else []
            if self.source is not None:
                roots.append(self.source.parent)
            for root in roots:
                target = (root / name.lstrip("/\\")).resolve()
                if not target.is_relative_to(root.resolve()):
                    # "relative://../../x" must not reach outside the project's folder
                    return None, f"{path} points outside the project's folder; refused"
                data = self._external(target)
                if data is not None:
                    return data, ""
            return None, f"{path} is neither in the archive nor beside it"
        if scheme in ("absolute", "file"):
            local = unquote(urlparse(path).path) if scheme == "file" else rest
            if re.match(r"^/[A-Za-z]:", local):  # file:///C:/...
                local = local[1:]
            data = self._external(Path(local))
            if data is not None:
                return data, ""
            return None, f"{path} was not found on this computer (or is not a .txt file)"
        return None, f"{path} uses an unknown scheme"

    def _external(self, path: Path) -> bytes | None:
        # Only plain-text files (the standard's plainTextPath): a crafted project must not
        # pull arbitrary files (keys, configuration) into a project someone may share.
        if path.suffix.casefold() not in _TEXT_SUFFIXES:
            return None
        try:
            if not path.is_file() or path.stat().st_size > MAX_EXTERNAL_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        self.external.append(str(path))
        return data


def _decode(data: bytes, where: str, notes: list[str]) -> tuple[str, bool]:
    """Decoded text without its byte-order mark, and whether it had one."""
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(codec), True
            except UnicodeDecodeError:
                raise ReaderError(f"{where} starts with a {codec} byte-order mark but is not "
                                  f"valid {codec}.") from None
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        notes.append(f"{where} is not UTF-8 (as the standard asks); it was read as cp1252.")
        return data.decode("cp1252", errors="replace"), False


def _find_qde(archive: Any, where: str, notes: list[str]) -> str:
    candidates = sorted(n for n in archive.names if n.casefold().endswith(".qde"))
    top = [n for n in candidates if "/" not in n.strip("/")]
    preferred = [n for n in top if n.casefold() == "project.qde"]
    chosen = (preferred or top or candidates or [None])[0]
    if chosen is None:
        raise ReaderError("The archive holds no project.qde (or other .qde file): it is not a "
                          "REFI-QDA project. Export it again as .qdpx from its program.",
                          path=where)
    if len(candidates) > 1:
        notes.append(f"The archive holds several .qde files; {chosen} was read.")
    return chosen


def _tool_of(origin: str) -> str | None:
    folded = origin.casefold()
    for needle, tool in (("nvivo", "nvivo"), ("atlas.ti", "atlasti"), ("atlasti", "atlasti"),
                         ("maxqda", "maxqda"), ("qualcoder", "qualcoder"),
                         ("qualcode", "qualcode")):
        if needle in folded:
            return tool
    return None


def _check_choice(value: str, name: str, options: tuple[str, ...]) -> str:
    from qualcode.errors import parameter_error

    if value not in options:
        raise parameter_error(name, "import_qdpx()", f"one of {', '.join(options)}", value)
    return value


def read_qdpx(
    source: str | PathLike[str],
    *,
    tool: str = "auto",
    positions: str = "auto",
) -> RefiProject:
    """Read a REFI-QDA project (.qdpx) into qualcode values, without storing anything.

    ``tool`` names the program that wrote it (``auto``: from the file's ``origin``);
    ``positions`` forces how selection positions count (``codepoints`` or ``utf16``;
    ``auto``: NVivo -> UTF-16, qualcode and QualCoder -> code points, otherwise whichever
    reading keeps the selections inside the text and on word boundaries).

    >>> project = read_qdpx("study.qdpx")              # doctest: +SKIP
    >>> len(project.codings), project.missing_sources  # doctest: +SKIP
    """
    from qualcode.safezip import open_zip, parse_xml

    _check_choice(tool, "tool", TOOLS)
    _check_choice(positions, "positions", POSITIONS)
    path = Path(source)
    where = str(path)
    notes: list[str] = []
    skipped: list[str] = []
    with open_zip(path, source_name=where) as archive:
        qde = _find_qde(archive, where, notes)
        root = parse_xml(archive.read(qde), f"{where}:{qde}")
        if _local(root.tag) != "Project":
            raise ReaderError(f"{qde} is not a REFI-QDA project: its root element is "
                              f"<{_local(root.tag)}>, not <Project>.", path=where)
        files = _Archive(archive, path, root.get("basePath") or "")
        raw_sources, media = _read_sources(root, files, notes, skipped)
    origin = (root.get("origin") or "").strip()
    producer = tool if tool != "auto" else _tool_of(origin)
    name = (root.get("name") or "").strip()
    if not name or name.casefold() == "untitled":
        name = path.stem
    for external in files.external:
        notes.append(f"Read {external} from outside the archive.")

    try:
        raw_codes = list(_walk_codes(_kid(_kid(root, "CodeBook"), "Codes"), None))
    except ReaderError as exc:
        raise ReaderError(str(exc), path=where) from None
    codebook, code_ids = _build_codebook(raw_codes, name, notes)

    # One reading for the whole file: how positions count is a property of the producer.
    readable = [s for s in raw_sources if s.text is not None]
    forced = positions if positions != "auto" else _FORCED_UNITS.get(producer or "")
    prefer = forced or _PREFERRED_UNITS.get(producer or "", "codepoints")
    evidence = choose_reading(
        [(s.text, [Selection(x.start, x.end, x.name) for x in s.selections])
         for s in readable if s.text is not None],
        units=forced, prefer=prefer,
        # qualcode writes exactly what the standard says: nothing to guess
        exact=Reading() if producer == "qualcode" and positions == "auto" else None,
    )

    documents, doc_ids = _documents(root, readable, path.name)
    reader = _Placer(root, documents, doc_ids, code_ids, evidence, notes, skipped)
    reader.place(readable)
    reader.attach_notes(raw_codes)
    documents = _apply_sets(root, documents, code_ids, codebook, reader.memos, notes, skipped)
    missing = [f"{s.name} ({s.missing})" for s in raw_sources if s.text is None]
    if missing:
        lost = sum(len(c.codings) for s in raw_sources if s.text is None for c in s.selections)
        lost += sum(len(s.whole_codings) for s in raw_sources if s.text is None)
        if lost:
            sources = counted(len(missing), "text source")
            skipped.append(f"{counted(lost, 'coding')} on the {sources} whose text is missing.")
        # A comment on a selection is the researcher's own writing: keep it even without
        # the text, quoting what the producer stored as the selection's name.
        kept = 0
        for source in (s for s in raw_sources if s.text is None):
            for selection in source.selections:
                if selection.description:
                    quoted = f" “{selection.name.strip()}”" if selection.name.strip() else ""
                    reader.memos.append(RefiMemo(
                        f"On{quoted} in {source.name.strip()} (its text was not in the "
                        f"archive):\n\n{selection.description}",
                        author=reader.coder(selection.user)))
                    kept += 1
        if kept:
            notes.append(f"{counted(kept, 'comment')} on selections of missing sources became "
                         "project memos.")
    for kind, count in sorted(media.items()):
        skipped.append(f"{counted(count, *kind)} (qualcode imports text sources only).")
    return RefiProject(
        name=name, origin=origin, codebook=codebook,
        documents=tuple(documents.values()), codings=tuple(reader.codings),
        memos=tuple(reader.memos),
        positions=_describe_positions(evidence, origin, how=(
            "as asked" if positions != "auto" else
            f"as {_TOOL_NAMES[producer]} counts them" if forced and producer else
            "chosen from the evidence")),
        missing_sources=tuple(missing), skipped=tuple(skipped), notes=tuple(notes),
    )


_TOOL_NAMES = {"nvivo": "NVivo", "atlasti": "ATLAS.ti", "maxqda": "MAXQDA",
               "qualcoder": "QualCoder", "qualcode": "qualcode"}


def _describe_positions(evidence: Evidence, origin: str, *, how: str) -> str:
    if not evidence.selections:
        return "No text selections to place."
    by = f" in this file from {origin}" if origin else ""
    return (f"Positions{by} read as {evidence.reading.describe()}, {how}: "
            f"{evidence.describe()}.")


def _read_sources(root: Element, files: _Archive, notes: list[str], skipped: list[str]
                  ) -> tuple[list[_RawSource], dict[tuple[str, str], int]]:
    sources: list[_RawSource] = []
    media: dict[tuple[str, str], int] = {}
    bad: list[str] = []
    container = _kid(root, "Sources")
    for element in list(container) if container is not None else []:
        kind = _local(element.tag)
        if kind == "TextSource":
            sources.append(_raw_source(element, element, "TextSource", files, notes, bad))
        elif kind == "PDFSource":
            representation = _kid(element, "Representation")
            if representation is not None:
                sources.append(_raw_source(element, representation, "PDF text", files, notes,
                                           bad))
            else:
                _count(media, ("PDF source without a text representation",
                               "PDF sources without a text representation"))
            coded = sum(len(_kids(s, "Coding")) for s in _kids(element, "PDFSelection"))
            if coded:
                _count(media, ("coding of PDF page areas", "codings of PDF page areas"), coded)
        elif kind in ("PictureSource", "AudioSource", "VideoSource"):
            label = {"PictureSource": ("picture source", "picture sources"),
                     "AudioSource": ("audio source", "audio sources"),
                     "VideoSource": ("video source", "video sources")}[kind]
            _count(media, label)
            transcripts = _kids(element, "Transcript")
            if transcripts:
                _count(media, ("audio/video transcript", "audio/video transcripts"),
                       len(transcripts))
            coded = sum(len(_kids(s, "Coding")) for s in element.iter()
                        if _local(s.tag).endswith("Selection"))
            if coded:
                _count(media, ("coding of pictures, audio or video",
                               "codings of pictures, audio or video"), coded)
    if bad:
        skipped.append(f"{counted(len(bad), 'selection')} without valid startPosition/endPosition.")
    seen: set[str] = set()
    for number, source in enumerate(sources):  # every source needs a GUID of its own
        if not source.guid or source.guid in seen:
            if source.guid:
                notes.append(f"Source '{source.name}' repeats the GUID {source.guid}.")
            source.guid = f"{source.guid or 'source'}#{number}"
        seen.add(source.guid)
    return sources, media


def _count(counts: dict[tuple[str, str], int], key: tuple[str, str], n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


def _raw_source(outer: Element, element: Element, kind: str, files: _Archive,
                notes: list[str], bad: list[str]) -> _RawSource:
    name = outer.get("name") or ""
    guid = _guid_of(outer) or _guid_of(element) or ""
    text: SourceText | None = None
    missing = ""
    path = element.get("plainTextPath")
    if path:
        data, missing = files.read(path)
        if data is not None:
            raw, had_bom = _decode(data, f"{name or path}", notes)
            text = SourceText(raw, had_bom=had_bom)
    if text is None:
        inline = _kid(element, "PlainTextContent")
        if inline is not None:
            text, missing = SourceText("".join(inline.itertext())), ""
        elif not path:
            missing = "no plainTextPath or PlainTextContent"
    return _RawSource(
        guid=guid, name=name or guid, kind=kind, text=text,
        selections=_raw_selections(element, bad),
        whole_codings=[_raw_coding(c) for c in _kids(element, "Coding")],
        note_refs=_refs(element, "NoteRef") + (
            _refs(outer, "NoteRef") if outer is not element else []),
        variables=_variable_values(outer),
        description=_text_of(outer, "Description").strip(), missing=missing,
    )


def _documents(root: Element, sources: list[_RawSource], label: str
               ) -> tuple[dict[str, Document], dict[str, str]]:
    """Documents with ids (recovered when qualcode wrote them) and attributes."""
    variables = {}
    for element in _kids(_kid(root, "Variables"), "Variable"):
        guid = _guid_of(element)
        if guid:
            variables[guid] = _name(element.get("name"), guid)
    texts = {s.guid: s.text.text for s in sources if s.text is not None}
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for source in sources:
        stem = _NAME_SUFFIX.sub("", source.name.strip())
        for candidate in dict.fromkeys((source.name, source.name.strip(), stem)):
            if candidate and candidate not in taken and normal_guid(
                    document_guid(candidate, content_hash(texts[source.guid]))) == source.guid:
                ids[source.guid] = candidate
                taken.add(candidate)
                break
    for source in sources:
        if source.guid in ids:
            continue
        base = _NAME_SUFFIX.sub("", source.name).strip() or source.name or "document"
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base} ({n})", n + 1
        ids[source.guid] = candidate
        taken.add(candidate)

    attributes: dict[str, dict[str, str]] = {s.guid: {} for s in sources}
    for element in _kids(_kid(root, "Cases"), "Case"):
        case_name = element.get("name") or ""
        values = _variable_values(element)
        for target in _refs(element, "SourceRef"):
            if target not in attributes:
                continue
            for var, value in values:
                attributes[target][variables.get(var, var)] = value
            if case_name and case_name != ids[target]:
                attributes[target].setdefault("case", case_name)
    for source in sources:  # values on the source itself win over its case's
        for var, value in source.variables:
            attributes[source.guid][variables.get(var, var)] = value

    documents = {}
    for source in sources:
        assert source.text is not None
        documents[source.guid] = Document(
            ids[source.guid], source.text.text, attributes[source.guid],
            source=f"{label}: {source.name}",
        )
    return documents, ids


Key = tuple[str, int, int, str, str]


class _Placer:
    """Turns selections into codings (mapping their positions) and notes into memos."""

    def __init__(self, root: Element, documents: dict[str, Document], doc_ids: dict[str, str],
                 code_ids: dict[str, str], evidence: Evidence, notes: list[str],
                 skipped: list[str]) -> None:
        self.root = root
        self.documents = documents
        self.doc_ids = doc_ids
        self.code_ids = code_ids
        self.reading = evidence.reading
        self.notes = notes
        self.skipped = skipped
        self.users: dict[str, str] = {}
        for user in _kids(_kid(root, "Users"), "User"):
            guid = _guid_of(user)
            if guid:
                self.users[guid] = _name(user.get("name") or user.get("id"),
                                         f"user {guid[:8]}")
        self.creator = _guid_of(root, "creatingUserGUID")
        self.codings: list[Coding] = []
        self.memos: list[RefiMemo] = []
        self.attached: dict[str, list[dict[str, Any]]] = {}  # note GUID -> attachments
        self.targets: dict[str, dict[str, Any]] = {}  # any GUID -> what a note on it is on

    def coder(self, *guids: str | None) -> str:
        for guid in (*guids, self.creator):
            if guid and guid in self.users:
                return self.users[guid]
        return "unknown"

    def attach(self, refs: Iterable[str], **place: Any) -> None:
        for ref in refs:
            self.attached.setdefault(ref, []).append(place)

    def coding(self, raw: _RawCoding, doc_id: str, start: int, end: int, memo: str,
               *fallback_users: str | None, created: str | None = None) -> Key | None:
        if raw.code is None or raw.code not in self.code_ids:
            self.unknown += 1
            return None
        coder = self.coder(raw.user, *fallback_users)
        self.codings.append(Coding(
            doc_id, start, end, self.code_ids[raw.code], coder=coder, method="import",
            status="accepted", memo=memo, created=raw.created or created or now_iso(),
        ))
        key: Key = (doc_id, start, end, self.code_ids[raw.code], coder)
        self.attach(raw.note_refs, coding=key)
        if raw.guid:
            self.targets[raw.guid] = {"coding": key}
        return key

    def place(self, sources: list[_RawSource]) -> None:
        self.unknown = outside = bare = annotations = 0
        for source in sources:
            assert source.text is not None
            document = self.documents[source.guid]
            doc_id = document.id
            self.targets[source.guid] = {"document": doc_id}
            self.attach(source.note_refs, document=doc_id)
            if source.description:
                self.memos.append(RefiMemo(source.description, document=doc_id))
            for selection in source.selections:
                span = source.text.span(selection.start, selection.end, self.reading)
                if span is None:
                    outside += 1
                    continue
                start, end = span
                keys = [k for k in (
                    self.coding(raw, doc_id, start, end, selection.description,
                                selection.user, created=selection.created)
                    for raw in selection.codings) if k is not None]
                if keys:
                    target: dict[str, Any] = {"coding": keys[0]}
                else:
                    target = {"document": doc_id, "span": (start, end)}
                    if selection.description:
                        annotations += 1
                        self.memos.append(RefiMemo(
                            _annotation(document.text, start, end, selection.description),
                            document=doc_id, author=self.coder(selection.user)))
                    elif not selection.note_refs:
                        bare += 1
                self.attach(selection.note_refs, **target)
                if selection.guid:
                    self.targets[selection.guid] = target
            for raw in source.whole_codings:
                key = self.coding(raw, doc_id, 0, len(document.text), "")
                if key is not None:
                    self.notes.append(f"Document '{doc_id}' is coded as a whole with "
                                      f"'{key[3]}'; that coding spans its full text.")
        if outside:
            self.skipped.append(
                f"{counted(outside, 'selection')} outside the text (read as "
                f"{self.reading.describe()}); their codings were not imported. Name the tool "
                "(--tool) or force the units (--positions) if this is wrong.")
        if self.unknown:
            self.skipped.append(f"{counted(self.unknown, 'coding')} of codes not in the codebook.")
        if annotations:
            self.notes.append(f"{counted(annotations, 'selection')} without codes "
                              "(annotations) became document memos quoting the text.")
        if bare:
            self.skipped.append(f"{counted(bare, 'selection')} with neither codes nor comments.")

    def attach_notes(self, raw_codes: list[_RawCode]) -> None:
        for raw in raw_codes:
            self.targets[raw.guid] = {"code": self.code_ids[raw.guid]}
            self.attach(raw.note_refs, code=self.code_ids[raw.guid])
        self.attach(_refs(self.root, "NoteRef"))  # notes on the project itself
        notes = {g: n for n in _kids(_kid(self.root, "Notes"), "Note")
                 if (g := _guid_of(n)) is not None}
        # A link between a note and a document, code, selection or coding attaches it too.
        unused = 0
        for link in _kids(_kid(self.root, "Links"), "Link"):
            origin, target = _guid_of(link, "originGUID"), _guid_of(link, "targetGUID")
            if origin in notes and target in self.targets:
                self.attach([origin], **self.targets[target])
            elif target in notes and origin in self.targets:
                self.attach([target], **self.targets[origin])
            else:
                unused += 1
        texts = {d.id: d.text for d in self.documents.values()}
        for guid, note in notes.items():
            text = _note_text(note)
            if not text:
                continue
            user = _guid_of(note, "creatingUser")
            author = self.coder(user) if user else None
            for place in self.attached.get(guid) or [{}]:
                body = text
                if "span" in place:
                    body = _annotation(texts[place["document"]], *place["span"], text)
                self.memos.append(RefiMemo(body, document=place.get("document"),
                                           code=place.get("code"), coding=place.get("coding"),
                                           author=author))
        if unused:
            self.skipped.append(f"{counted(unused, 'link')} (qualcode keeps a link only "
                                "between a note and what it comments on).")
        graphs = len(_kids(_kid(self.root, "Graphs"), "Graph"))
        if graphs:
            self.skipped.append(f"{counted(graphs, 'graph')} (network views).")


def _annotation(text: str, start: int, end: int, comment: str) -> str:
    excerpt = text[start:end].strip()
    if len(excerpt) > 300:
        excerpt = excerpt[:299].rstrip() + "…"
    return f"On characters {start}-{end}: “{excerpt}”\n\n{comment}".strip()


def _note_text(note: Element) -> str:
    """A Note's memo text: its name (unless qualcode derived it), content, description."""
    content = _text_of(note, "PlainTextContent").replace("\r\n", "\n").strip()
    name = (note.get("name") or "").strip()
    description = _text_of(note, "Description").strip()
    parts = []
    if name and name != note_title(content):
        parts.append(name)
    if content:
        parts.append(content)
    if description and description != content:
        parts.append(description)
    return "\n\n".join(parts)


def _apply_sets(root: Element, documents: dict[str, Document], code_ids: dict[str, str],
                codebook: Codebook, memos: list[RefiMemo], notes: list[str],
                skipped: list[str]) -> dict[str, Document]:
    """Document sets become attributes; code sets become project memos (code groups)."""
    attributes: dict[str, dict[str, str]] = {g: {} for g in documents}
    code_groups = document_groups = unapplied = empty = 0
    for element in _kids(_kid(root, "Sets"), "Set"):
        name = (element.get("name") or "").strip() or "set"
        description = _text_of(element, "Description").strip()
        codes = [code_ids[g] for g in _refs(element, "MemberCode") if g in code_ids]
        sources = _refs(element, "MemberSource")
        if not codes and not sources:
            empty += 1
            continue
        if codes:
            code_groups += 1
            listed = "; ".join(codebook.get(c).name for c in codes)
            text = f"Code group “{name}”: {listed}."
            memos.append(RefiMemo(f"{text}\n\n{description}" if description else text))
        if sources:
            present = [g for g in sources if g in documents]
            if not present:
                unapplied += 1
                continue
            document_groups += 1
            match = _KEY_VALUE_SET.match(name)
            key, value = (match.group(1), match.group(2)) if match else (name, "yes")
            for guid in present:
                previous = attributes[guid].get(key)
                attributes[guid][key] = value if previous in (None, value) else (
                    f"{previous}; {value}")
    if code_groups:
        notes.append(f"{counted(code_groups, 'code set')} (code groups) became project "
                     "memos listing their codes.")
    if document_groups:
        notes.append(f"{counted(document_groups, 'document set')} became document "
                     "attributes (a set named 'key: value' gives key = value, any other set "
                     "<name> = yes).")
    if unapplied:
        skipped.append(f"{counted(unapplied, 'document set')}: none of their documents "
                       "were imported.")
    if empty:
        skipped.append(f"{counted(empty, 'empty set')}.")
    out = {}
    for guid, document in documents.items():
        extra = {k: v for k, v in attributes[guid].items() if k not in document.attributes}
        out[guid] = document.with_attributes(**extra) if extra else document
    return out
