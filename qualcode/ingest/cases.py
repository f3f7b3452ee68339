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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from qualcode.errors import TableError
from qualcode.ingest.tables import read_table

__all__ = ["CasesTable", "read_cases"]

ID_COLUMN_NAMES = ("document", "id", "case", "file", "document_id", "case_id", "filename",
                   "doc", "doc_id", "transcript")


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
        ids = {doc_id for doc_id, _ in documents}
        by_stem: dict[str, list[str]] = {}
        for doc_id, source in documents:
            if source is not None:
                by_stem.setdefault(Path(source).stem, []).append(doc_id)
        # ids typed by hand may differ from the file names in case ("ap01_Sarah" for
        # AP01_sarah.txt): they match when only one document or file stem folds alike
        folded: dict[str, set[str]] = {}
        for name in (*ids, *by_stem):
            folded.setdefault(name.casefold(), set()).add(name)
        out: dict[str, dict[str, str]] = {}
        unmatched: list[str] = []
        for case_id, attributes in self.attributes.items():
            targets = _targets(case_id, ids, by_stem)
            if not targets:
                stem = Path(case_id).stem if "." in case_id else case_id
                alike = folded.get(stem.casefold(), set())
                if len(alike) == 1:
                    targets = _targets(alike.pop(), ids, by_stem)
            if not targets and unknown != "error":
                unmatched.append(case_id)
            elif not targets:
                known = sorted(ids | set(by_stem))
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


def _targets(case_id: str, ids: set[str], by_stem: Mapping[str, list[str]]) -> list[str]:
    if case_id in ids:
        return [case_id]
    stem = Path(case_id).stem if "." in case_id else case_id
    if stem in ids:
        return [stem]
    return list(by_stem.get(stem, []))


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
