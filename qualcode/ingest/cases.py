"""The cases table: case attributes (setting, role, date, ...) per document, from CSV or Excel.

The id column is the first column when it is named ``document``, ``id``, ``case`` or
``file`` (any case; also ``document_id``, ``case_id``, ``filename``), or the column the
caller names. An id matches a document id (the file stem, e.g. ``AP01_sarah``); a file name
(``AP01_sarah.txt``) matches by its stem; an id that differs from one only in case
(``ap01_Sarah``) matches it; an id that names a survey file's stem gives its
attributes to every answer of that file. Every other column is an attribute; empty cells
set nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from qualcode.errors import TableError
from qualcode.ingest.tables import read_table

__all__ = ["CaseMatcher", "CasesTable", "match_case_rows", "read_cases"]

ID_COLUMN_NAMES = ("document", "id", "case", "file", "document_id", "case_id", "filename",
                   "doc", "doc_id", "transcript")


@dataclass(frozen=True)
class CaseMatcher:
    """Finds the documents a case id names; shared by ingest and saturation's ``cases=``.

    An id matches a document id, or (with a suffix, "P01.docx") the id or source file of
    that stem; failing those, an id that differs only in letter case ("p01") matches the
    one document id or file stem that folds alike, never one of several.
    """

    ids: frozenset[str]
    by_stem: Mapping[str, tuple[str, ...]]
    folded: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, documents: Iterable[str | tuple[str, str | None]]) -> CaseMatcher:
        """From document ids, or ``(document id, source path or None)`` pairs."""
        pairs = [(d, None) if isinstance(d, str) else d for d in documents]
        ids = frozenset(doc_id for doc_id, _ in pairs)
        by_stem: dict[str, list[str]] = {}
        for doc_id, source in pairs:
            if source is not None:
                by_stem.setdefault(Path(source).stem, []).append(doc_id)
        # ids typed by hand may differ from the file names in case ("ap01_Sarah" for
        # AP01_sarah.txt): they match when only one document or file stem folds alike
        folded: dict[str, set[str]] = {}
        for name in (*ids, *by_stem):
            folded.setdefault(name.casefold(), set()).add(name)
        return cls(ids, {k: tuple(v) for k, v in by_stem.items()},
                   {k: frozenset(v) for k, v in folded.items()})

    def match(self, case_id: str) -> list[str]:
        """The document ids ``case_id`` names (several when it names a survey file), or []."""
        targets = _targets(case_id, self.ids, self.by_stem)
        if not targets:
            alike = self.folded.get(_stem(case_id).casefold(), frozenset())
            if len(alike) == 1:
                targets = _targets(next(iter(alike)), self.ids, self.by_stem)
        return targets

    def known(self) -> list[str]:
        """Every name an id can match, sorted (for messages)."""
        return sorted(self.ids | set(self.by_stem))


@dataclass(frozen=True)
class CasesTable:
    """Attributes by case id, with the line each id came from (for messages)."""

    path: Path
    id_column: str
    attributes: Mapping[str, Mapping[str, str]]
    lines: Mapping[str, int]

    def assign(
        self, documents: Iterable[tuple[str, str | None]], *, unknown: str = "error"
    ) -> tuple[dict[str, dict[str, str]], list[str], list[str]]:
        """Match rows to ``(document id, source path)`` pairs.

        Returns ``({document id: attributes}, [documents without a row], [row ids that
        match no document])``. With ``unknown="error"`` (the default) a row that matches no
        document is a :class:`TableError` naming its line and close matches instead.
        """
        documents = list(documents)
        matcher = CaseMatcher.of(documents)
        out: dict[str, dict[str, str]] = {}
        unmatched: list[str] = []
        for case_id, attributes in self.attributes.items():
            targets = matcher.match(case_id)
            if not targets and unknown != "error":
                unmatched.append(case_id)
            elif not targets:
                known = matcher.known()
                close = difflib.get_close_matches(case_id, known, n=3, cutoff=0.6)
                hint = (f" Close matches: {', '.join(close)}." if close else
                        " No document has a similar name.")
                raise TableError(
                    f"The case {case_id!r} names no document that was read.{hint} Fix the "
                    "id (ids are file names without the suffix), remove the row, or allow "
                    "rows for documents not read now (unknown_cases='report').",
                    path=self.path, line=self.lines[case_id], field=self.id_column,
                )
            for doc_id in targets:
                out.setdefault(doc_id, {}).update(attributes)
        missing = [doc_id for doc_id, _ in documents if doc_id not in out]
        return out, missing, unmatched


def match_case_rows(
    rows: Sequence[tuple[str, int | None]],
    documents: Iterable[str | tuple[str, str | None]],
    *,
    path: str | PathLike[str] | None = None,
    id_column: str | None = None,
) -> tuple[dict[str, list[str]], list[tuple[str, int | None]]]:
    """Match the ids of a table's rows (``(case id, line)``) to documents, as
    :class:`CaseMatcher` does, for readers that allow rows for documents not at hand.

    Returns ``({case id: [document ids]}, [(case id, line) of rows that match none]``.
    When no row matches any document the table belongs to another study or uses other
    ids, so that is a :class:`TableError` showing a few ids of each side.
    """
    documents = list(documents)
    matcher = CaseMatcher.of(documents)
    matched: dict[str, list[str]] = {}
    unmatched: list[tuple[str, int | None]] = []
    for case_id, line in rows:
        targets = matcher.match(case_id)
        if targets:
            matched[case_id] = targets
        else:
            unmatched.append((case_id, line))
    if rows and not matched:
        ids = list(dict.fromkeys(case_id for case_id, _ in rows))
        names = [d if isinstance(d, str) else d[0] for d in documents]
        raise TableError(
            f"The cases table names no document: none of the {len(ids)} ids in it "
            f"({_few(ids)}) is one of the {len(names)} documents ({_few(names) or 'none'}). "
            "Its ids must be document ids (file names without the suffix; letter case may "
            "differ): fix them, or give the cases table of this study.",
            path=path, field=id_column,
        )
    return matched, unmatched


def _few(names: Sequence[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _stem(case_id: str) -> str:
    return Path(case_id).stem if "." in case_id else case_id


def _targets(case_id: str, ids: frozenset[str],
             by_stem: Mapping[str, tuple[str, ...]]) -> list[str]:
    if case_id in ids:
        return [case_id]
    stem = _stem(case_id)
    if stem in ids:
        return [stem]
    return list(by_stem.get(stem, ()))


def read_cases(path: str | PathLike[str], *, id_column: str | None = None,
               encoding: str | None = None, sheet: str | int | None = None) -> CasesTable:
    """Read a cases table (CSV/XLSX): one row per document, attributes in the other columns."""
    table = read_table(path, encoding=encoding, sheet=sheet)
    if id_column is not None:
        id_at = table.column(id_column, option="case_id_column")
    elif table.header[0].strip().casefold() in ID_COLUMN_NAMES:
        id_at = 0
    else:
        raise TableError(
            f"The first column ({table.header[0]!r}) should hold document ids and be named "
            "'document' (or id, case, file); rename it, or name the id column "
            "(case_id_column= / --case-id-column).",
            path=table.path, line=table.header_line, field=table.header[0],
        )
    attributes: dict[str, dict[str, str]] = {}
    lines: dict[str, int] = {}
    for row, line in zip(table.rows, table.lines, strict=True):
        case_id = row[id_at].strip()
        if not case_id:
            raise TableError("This row has no document id; fill it in or remove the row.",
                             path=table.path, line=line, field=table.header[id_at])
        if case_id in attributes:
            raise TableError(
                f"Document {case_id!r} has a second row here (the first is on line "
                f"{lines[case_id]}); keep one row per document.",
                path=table.path, line=line, field=table.header[id_at],
            )
        attributes[case_id] = {
            table.header[i]: value.strip()
            for i, value in enumerate(row) if i != id_at and value.strip()
        }
        lines[case_id] = line
    return CasesTable(table.path, table.header[id_at], attributes, lines)
