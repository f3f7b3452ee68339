"""Tables: open-ended survey answers (``.csv``, ``.tsv``, ``.xlsx``), one document per row.

:func:`read_table` gives the header and the rows of a CSV or Excel file with their line
(row) numbers; the survey reader and the cases table (:mod:`qualcode.ingest.cases`) both
use it. CSV files are decoded like transcripts (UTF-8, UTF-16, cp1252 detected) and their
delimiter (``,`` ``;`` or tab) is taken from the header line.

Survey reader options: ``text_column`` (the answers; default: a column called text,
response, answer, comment(s), feedback or content), ``id_column`` (respondent ids;
default: ``<file stem>-<n>`` where n counts answer rows from 1), ``attribute_columns``
(default: every other column), ``sheet`` (an Excel sheet's name or 0-based position;
default: the first). Rows with an empty answer are skipped (and listed in the notes).
"""

from __future__ import annotations

import csv
import difflib
import io
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from qualcode.errors import TableError, UnsafeInputError
from qualcode.ingest.base import ParsedSource, Turn, read_bytes, register_reader
from qualcode.ingest.encoding import decode_bytes
from qualcode.model import normalise_text

__all__ = ["Table", "read_survey", "read_table"]

TEXT_COLUMN_NAMES = ("text", "response", "responses", "answer", "answers", "comment",
                     "comments", "feedback", "content", "open_response", "free_text")


@dataclass(frozen=True)
class Table:
    """A table's header and rows; ``lines[i]`` is the file line (or sheet row) of ``rows[i]``."""

    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    header_line: int = 1

    def find(self, name: str) -> int | None:
        """The position of column ``name`` (exact, else case- and space-insensitive), or None."""
        if name in self.header:
            return self.header.index(name)
        folded = [h.strip().casefold() for h in self.header]
        key = name.strip().casefold()
        return folded.index(key) if key in folded else None

    def column(self, name: str, *, option: str) -> int:
        """The position of column ``name``, or a :class:`TableError` naming ``option``."""
        found = self.find(name)
        if found is not None:
            return found
        close = difflib.get_close_matches(name, list(self.header), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise TableError(
            f"No column {name!r} (the {option} option).{hint} The columns are: "
            f"{', '.join(self.header)}.",
            path=self.path, line=self.header_line, field=option,
        )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _check_header(header: list[str], path: Path, line: int) -> tuple[str, ...]:
    header = [h.strip() for h in header]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise TableError("The table has no header row; its first row must name the columns.",
                         path=path, line=line)
    seen: set[str] = set()
    for i, name in enumerate(header):
        if not name:
            raise TableError(f"Column {i + 1} has no name in the header row; name it.",
                             path=path, line=line)
        if name.casefold() in seen:
            raise TableError(f"Column {name!r} appears twice in the header row; rename one.",
                             path=path, line=line, field=name)
        seen.add(name.casefold())
    return tuple(header)


def read_table(path: str | Path, *, encoding: str | None = None,
               sheet: str | int | None = None) -> Table:
    """Read a ``.csv``/``.tsv``/``.txt`` or ``.xlsx`` table: header, rows, line numbers.

    Cells are strings (numbers without a spurious ``.0``, dates as ISO dates); short rows
    are padded with empty cells; empty rows are dropped. Raises :class:`TableError` (or
    :class:`~qualcode.errors.ReaderError` for an unreadable file).
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    return _read_csv(path, encoding)


def _read_csv(path: Path, encoding: str | None) -> Table:
    text, _ = decode_bytes(read_bytes(path), path, encoding=encoding)
    first_line = text.split("\n", 1)[0]
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        delimiter = max(",;\t", key=first_line.count) if any(
            d in first_line for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    # decode_bytes normalised the whole text, so a cell differs from its normalised self
    # only by a byte-order mark at its start: without one in the text, cells are kept as read
    normalise_cell = normalise_text if "\ufeff" in text else None
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    line = 1
    try:
        for record in reader:
            start_line, line = line, reader.line_num + 1
            if not "".join(record).strip():  # no cell holds more than whitespace
                continue
            if header is None:
                header, header_line = record, start_line
                continue
            rows.append(tuple(record) if normalise_cell is None
                        else tuple(map(normalise_cell, record)))
            lines.append(start_line)
    except csv.Error as exc:
        raise TableError(
            f"The CSV is malformed ({exc}) in the row starting here; check its quotes: a "
            "quoted cell must end with a quote before the next delimiter.",
            path=path, line=line,
        ) from None
    if header is None:
        raise TableError("The table is empty.", path=path)
    checked = _check_header(header, path, header_line)
    return Table(path, checked, _fit(rows, lines, len(checked), path), tuple(lines),
                 header_line)


def _fit(rows: list[tuple[str, ...]], lines: list[int], width: int,
         path: Path) -> tuple[tuple[str, ...], ...]:
    """Pad short rows with empty cells; refuse rows with more (non-empty) cells than columns."""
    out = []
    for row, line in zip(rows, lines, strict=True):
        if len(row) == width:
            out.append(row)
            continue
        if len(row) > width:
            if any(c.strip() for c in row[width:]):
                raise TableError(
                    f"This row has {len(row)} cells but the header names {width} columns. "
                    "Put text that contains the delimiter in double quotes.",
                    path=path, line=line,
                )
            row = row[:width]
        out.append(row + ("",) * (width - len(row)))
    return tuple(out)


def _read_xlsx(path: Path, sheet: str | int | None) -> Table:
    from qualcode.ingest.base import check_file
    from qualcode.safezip import check_archive

    check_file(path)
    check_archive(path)
    import openpyxl

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it cannot read; not our business
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            # our own handle: closed even when openpyxl fails half-way
            with path.open("rb") as handle:
                book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
                try:
                    cells = list(_xlsx_rows(book, sheet, path))
                finally:
                    book.close()
    except TableError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        from defusedxml import DefusedXmlException

        if isinstance(exc, DefusedXmlException):
            raise UnsafeInputError(
                "Refused: the workbook's XML declares a DTD or entities (an entity-expansion "
                "attack or an external reference). Save the table again from Excel.",
                path=path,
            ) from None
        raise TableError(
            f"The Excel file cannot be read ({type(exc).__name__}: {exc}); open it in Excel "
            "or LibreOffice and save it again as .xlsx.",
            path=path,
        ) from None
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    for number, values in cells:
        if header is None:
            header, header_line = values, number
            continue
        rows.append(tuple(normalise_text(c) for c in values))
        lines.append(number)
    if header is None:
        raise TableError("The sheet is empty.", path=path)
    checked = _check_header(header, path, header_line)
    return Table(path, checked, _fit(rows, lines, len(checked), path), tuple(lines),
                 header_line)


def _xlsx_rows(book: Any, sheet: str | int | None, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as strings) of the non-empty rows of the chosen sheet."""
    if sheet is None:
        worksheet = book.worksheets[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(book.worksheets):
            raise TableError(
                f"There is no sheet {sheet} (the file has {len(book.worksheets)}; the "
                "first is 0).", path=path, field="sheet")
        worksheet = book.worksheets[sheet]
    elif sheet in book.sheetnames:
        worksheet = book[sheet]
    else:
        raise TableError(
            f"No sheet {sheet!r}; the sheets are: {', '.join(book.sheetnames)}.",
            path=path, field="sheet",
        )
    for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
        cells = [_cell(v) for v in values]
        if any(c.strip() for c in cells):
            yield number, cells


@register_reader(".csv", ".tsv", ".xlsx", table=True,
                 options=("text_column", "id_column", "attribute_columns", "sheet"))
def read_survey(
    path: Path,
    *,
    document_id: str,
    encoding: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    attribute_columns: Sequence[str] | None = None,
    sheet: str | int | None = None,
) -> list[ParsedSource]:
    """One document per row of a survey table: the answer is its text, one turn long."""
    table = read_table(path, encoding=encoding, sheet=sheet)
    if text_column is not None:
        text_at = table.column(text_column, option="text_column")
    else:
        found = [i for i in map(table.find, TEXT_COLUMN_NAMES) if i is not None]
        if not found:
            raise TableError(
                "Which column holds the answers? Name it with text_column (the --text-column "
                f"option). The columns are: {', '.join(table.header)}.",
                path=path, line=table.header_line, field="text_column",
            )
        text_at = found[0]
    id_at = None if id_column is None else table.column(id_column, option="id_column")
    if isinstance(attribute_columns, str):
        attribute_columns = [attribute_columns]
    if attribute_columns is None:
        attribute_at = [i for i in range(len(table.header)) if i not in (text_at, id_at)]
    else:
        attribute_at = [table.column(n, option="attribute_columns") for n in attribute_columns]
    header, rows, lines = table.header, table.rows, table.lines
    if id_at is None:
        ids = [f"{document_id}-{number}" for number in range(1, len(rows) + 1)]
    else:
        # every id at once; a missing or repeated one is then looked for row by row
        ids = [row[id_at].strip() for row in rows]
        if not all(ids) or len(set(ids)) < len(ids):
            _refuse_ids(ids, lines, path, header[id_at])
    attribute_names = [(header[i], i) for i in attribute_at]
    answers: list[tuple[str, str, tuple[Turn], MappingProxyType[str, str]]] = []
    empty: list[int] = []
    for doc_id, row, line in zip(ids, rows, lines, strict=True):
        answer = row[text_at]  # rows are padded to the header's width
        content = answer.strip()
        if not content:
            empty.append(line)
            continue
        attributes = {name: value for name, i in attribute_names if (value := row[i].strip())}
        start = len(answer) - len(answer.lstrip())  # the turn is the answer, trimmed
        turns = (Turn(start, start + len(content), None, "participant"),)
        answers.append((doc_id, answer, turns, MappingProxyType(attributes)))
    if not answers:
        raise TableError(f"The column {header[text_at]!r} holds no answers.",
                         path=path, field=header[text_at])
    notes: tuple[str, ...] = ()
    if empty:
        shown = ", ".join(str(n) for n in empty[:10]) + (" ..." if len(empty) > 10 else "")
        notes = (f"{len(empty)} rows with an empty answer were skipped (lines {shown}).",)
    # one source per row: made from the values checked above (turns inside their answer,
    # a known role, attributes that only this source sees)
    source, file_format = str(path), path.suffix.lower().lstrip(".")
    return [ParsedSource.from_checked((doc_id, answer, turns, attributes, source, file_format,
                                       None, notes))
            for doc_id, answer, turns, attributes in answers]


def _refuse_ids(ids: list[str], lines: Sequence[int], path: Path, column: str) -> NoReturn:
    """Raise a :class:`TableError` for the first row whose id is missing or used before."""
    seen: dict[str, int] = {}
    for doc_id, line in zip(ids, lines, strict=True):
        if not doc_id:
            raise TableError("This row has no id in the id column; every answer needs "
                             "one (or leave id_column out to number the rows).",
                             path=path, line=line, field=column)
        if doc_id in seen:
            raise TableError(
                f"The id {doc_id!r} is used again (first on line {seen[doc_id]}); ids "
                "must be unique.", path=path, line=line, field=column)
        seen[doc_id] = line
    raise AssertionError("_refuse_ids() found nothing to refuse")
