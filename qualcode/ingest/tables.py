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
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import compress
from operator import add, sub
from pathlib import Path
from typing import Any, NoReturn

from qualcode.errors import TableError, UnsafeInputError
from qualcode.ingest.base import ParsedSource, ParsedTable, read_bytes, register_reader
from qualcode.ingest.encoding import decode_bytes
from qualcode.model import DocumentColumns, normalise_text

__all__ = ["Table", "read_answers", "read_survey", "read_table"]

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

    def columns(self) -> tuple[tuple[str, ...], ...]:
        """The cells column by column: ``columns()[j][i]`` is ``rows[i][j]``."""
        return tuple(zip(*self.rows, strict=True)) if self.rows else ((),) * len(self.header)

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


# where str.splitlines ends a line besides "\r" and "\n" (the csv module does not)
_OTHER_LINE_BREAKS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_END = re.compile(r"[\r\n]")


def _read_csv(path: Path, encoding: str | None) -> Table:
    # The line ends are left as they are, which saves a pass over the whole text: the csv
    # module ends a line at "\r\n" and "\r" as at "\n", so only a cell of several lines
    # holds them, and it is normalised as the whole text would have been. A text with a
    # byte-order mark inside is normalised first (its cells are then normalised one by one,
    # its header's not).
    text, _ = decode_bytes(read_bytes(path), path, encoding=encoding, line_ends=False)
    if "\ufeff" in text:
        text = normalise_text(text)
    first_end = _LINE_END.search(text)
    first_line = text if first_end is None else text[:first_end.start()]
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        delimiter = max(",;\t", key=first_line.count) if any(
            d in first_line for d in ",;\t") else ","
    try:
        header, header_line, rows, lines = _csv_records(text, delimiter, path)
    except TableError:
        if "\r" not in text:
            raise
        # the csv module limits a cell's length, and a "\r\n" counts one more than the
        # "\n" it becomes: the normalised text tells whether a cell is too long (and gives
        # any other error as it always did)
        header, header_line, rows, lines = _csv_records(normalise_text(text), delimiter, path)
    if header is None:
        raise TableError("The table is empty.", path=path)
    checked = _check_header(header, path, header_line)
    return Table(path, checked, _fit(rows, lines, len(checked), path), tuple(lines),
                 header_line)


def _csv_records(text: str, delimiter: str, path: Path
                 ) -> tuple[list[str] | None, int, list[tuple[str, ...]], list[int]]:
    """The header row, its line, and the other rows of a CSV text with the lines they
    start on (rows of nothing but whitespace are left out); a :class:`TableError` for a
    malformed one. Cells are normalised (line ends, and a byte-order mark at the start of a
    cell other than the header's)."""
    # the csv module reads a list of lines faster than a StringIO; str.splitlines also
    # ends a line at a few characters that the csv module reads as any other (form feed,
    # U+2028, ...): its lines serve when the text has none of them
    text_lines: Iterable[str] = (
        io.StringIO(text, newline="") if any(c in text for c in _OTHER_LINE_BREAKS)
        else text.splitlines(keepends=True))
    reader = csv.reader(text_lines, delimiter=delimiter, strict=True)
    raw_line_ends = "\r" in text
    # otherwise a cell differs from its normalised self only by a byte-order mark at its
    # start: without one in the text, cells are kept as read
    normalise_cell = normalise_text if "\ufeff" in text else None
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    line = 1
    try:
        for record in reader:
            start_line, line = line, reader.line_num + 1
            if raw_line_ends and line - start_line > 1:  # a cell of several lines
                record = [normalise_text(cell) for cell in record]
            # no cell holds more than whitespace (the first cell tells for nearly every row)
            if not (record and record[0].strip()) and not "".join(record).strip():
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
    return header, header_line, rows, lines


def _fit(rows: list[tuple[str, ...]], lines: list[int], width: int,
         path: Path) -> tuple[tuple[str, ...], ...]:
    """Pad short rows with empty cells; refuse rows with more (non-empty) cells than columns."""
    if set(map(len, rows)) <= {width}:  # nearly always: every row as wide as the header
        return tuple(rows)
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


def read_answers(
    path: Path,
    *,
    document_id: str,
    encoding: str | None = None,
    text_column: str | None = None,
    id_column: str | None = None,
    attribute_columns: Sequence[str] | None = None,
    sheet: str | int | None = None,
) -> ParsedTable:
    """One document per row of a survey table, as columns: the answer is its text, one
    turn long (see :func:`read_survey`, which gives the same rows as sources)."""
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
        # a column named twice is one attribute
        attribute_at = list(dict.fromkeys(
            table.column(n, option="attribute_columns") for n in attribute_columns))
    header, lines, columns = table.header, table.lines, table.columns()
    # every row at once, a column at a time: a survey has 100,000s of rows
    if id_at is None:
        ids = [f"{document_id}-{number}" for number in range(1, len(lines) + 1)]
    else:
        # every id at once; a missing or repeated one is then looked for row by row
        ids = list(map(str.strip, columns[id_at]))
        if not all(ids) or len(set(ids)) < len(ids):
            _refuse_ids(ids, lines, path, header[id_at])
    answers = columns[text_at]
    contents = tuple(map(str.strip, answers))
    attribute_values = [list(map(str.strip, columns[i])) for i in attribute_at]
    empty: list[int] = []
    if "" in contents:
        has_answer = list(map(bool, contents))
        empty = [line for line, kept in zip(lines, has_answer, strict=True) if not kept]
        ids, answers, contents = (tuple(compress(column, has_answer))
                                  for column in (ids, answers, contents))
        attribute_values = [list(compress(column, has_answer)) for column in attribute_values]
    if not answers:
        raise TableError(f"The column {header[text_at]!r} holds no answers.",
                         path=path, field=header[text_at])
    notes: tuple[str, ...] = ()
    if empty:
        shown = ", ".join(str(n) for n in empty[:10]) + (" ..." if len(empty) > 10 else "")
        notes = (f"{len(empty)} rows with an empty answer were skipped (lines {shown}).",)
    # the turn is the answer, trimmed (nearly every answer has nothing to trim)
    if contents == answers:
        starts, ends = [0] * len(answers), list(map(len, answers))
    else:
        starts = list(map(sub, map(len, answers), map(len, map(str.lstrip, answers))))
        ends = list(map(add, starts, map(len, contents)))
    documents = DocumentColumns(ids, answers, starts, ends, str(path),
                                [header[i] for i in attribute_at], attribute_values)
    return ParsedTable(documents, path.suffix.lower().lstrip("."), notes)


@register_reader(".csv", ".tsv", ".xlsx", table=True, columns=read_answers,
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
    """One document per row of a survey table: the answer is its text, one turn long.

    Rows with an empty answer are skipped and named in every source's notes.
    """
    return read_answers(path, document_id=document_id, encoding=encoding,
                        text_column=text_column, id_column=id_column,
                        attribute_columns=attribute_columns, sheet=sheet).sources()


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
