"""Turn what a user has (a project, a table, a mapping) into an ordered incidence matrix.

A code is *present* in an interview when it has at least one (accepted, by default) coding
there. The result, :class:`Incidence`, is interviews (rows, in analysis order) x codes
(columns), boolean, with the notes a methods paragraph must state (how the order was
chosen, ties, codes left out).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from qualcode.errors import InputError, NotFoundError, ParameterError, TableError, parameter_error
from qualcode.model import CODING_STATUSES

__all__ = ["Incidence", "load_incidence"]

DOCUMENT_COLUMNS = ("document", "document_id", "doc", "interview", "case", "file")
CODE_COLUMNS = ("code", "code_id", "tag", "codes")
ORDER_KEYWORDS = ("date", "given")
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
_LISTED = 8  # names listed in a message before "and N more"
# Said in the terminal and the notebook; a methods paragraph for a paper leaves it out.
ORDER_ADVICE = "; pass order= (--order) to state the order"


def _listing(names: Sequence[object], limit: int = _LISTED) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown


@dataclass(frozen=True, eq=False)
class Incidence:
    """Interviews x codes presence, rows in analysis order.

    ``documents`` are interview ids in order, ``codes`` the code ids, ``matrix`` a boolean
    array (len(documents), len(codes)); ``order`` says how the order was chosen ("date",
    "given", "file NAME", "sequence"); ``dates`` holds ISO dates when known; ``themes``
    maps code -> theme where known; ``presence`` completes "a code counted as present in
    an interview when ..."; ``notes`` are statements a report must carry (about the data,
    then about the order).
    """

    documents: tuple[str, ...]
    codes: tuple[str, ...]
    matrix: np.ndarray = field(repr=False)
    order: str = "given"
    dates: tuple[str | None, ...] | None = None
    themes: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    presence: str = "it was listed for the interview"
    data_notes: tuple[str, ...] = ()
    order_notes: tuple[str, ...] = ()
    dropped_codes: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        """What a report must state about the data and the order, one sentence each."""
        return self.data_notes + self.order_notes

    def to_frame(self):  # -> pandas.DataFrame
        """Documents (index, in order) x codes, 0/1."""
        import pandas as pd

        return pd.DataFrame(self.matrix.astype(np.int8), index=pd.Index(
            self.documents, name="document"), columns=list(self.codes))


# -- entry point ------------------------------------------------------------------------------
@dataclass
class _Raw:
    """Presence before ordering and filtering, in the source's own order."""

    documents: list[str]
    presence: dict[str, set[str]]
    dates: dict[str, Any] = field(default_factory=dict)
    themes: dict[str, str] = field(default_factory=dict)
    source: str = ""
    path: str | None = None
    notes: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # every code column/id, even if absent
    presence_rule: str = "it was listed for the interview"
    left_out: list[str] = field(default_factory=list)  # documents without a counted coding


def load_incidence(
    source: Any,
    *,
    order: str | PathLike[str] | Sequence[str] | None = None,
    status: str | None = "accepted",
    coder: str | None = None,
    themes: Sequence[str] | None = None,
    code_themes: Mapping[str, str] | Any | None = None,
    cases: Any = None,
    values: str = "counts",
    min_interviews: int = 1,
    where: str = "saturation()",
) -> Incidence:
    """An :class:`Incidence` from a Project, a ``.qualcode`` path, a CSV/XLSX table (long:
    document, code; or wide: documents x codes), a DataFrame, a mapping {document: codes},
    or an :class:`Incidence` (re-ordered / filtered).

    ``order`` is "date", "given", a file with one document id per line, or a sequence of
    ids; None takes dates when the source has any, else the order given (and says so).
    """
    if values not in ("counts", "binary"):
        raise parameter_error("values", where, "'counts' or 'binary'", values)
    if not isinstance(min_interviews, (int, np.integer)) or isinstance(min_interviews, bool) \
            or min_interviews < 1:
        raise parameter_error("min_interviews", where, "an integer >= 1", min_interviews)
    if status is not None and status not in CODING_STATUSES:
        raise parameter_error("status", where, f"one of {', '.join(CODING_STATUSES)} or None",
                              status)
    if themes is not None and isinstance(themes, str):
        themes = [themes]
    raw = _read_source(source, status=status, coder=coder, values=values, where=where)
    if cases is not None:
        _merge_cases(raw, cases)
    if code_themes is not None:
        raw.themes.update(_theme_mapping(code_themes, where))
    if themes is not None:
        _keep_themes(raw, list(themes), where)
    return _build(raw, order=order, min_interviews=int(min_interviews), where=where)


def _read_source(source: Any, *, status: str | None, coder: str | None, values: str,
                 where: str) -> _Raw:
    import pandas as pd

    if isinstance(source, Incidence):
        return _from_incidence(source, status, coder, where)
    if hasattr(source, "codings") and hasattr(source, "documents"):
        return _from_project(source, status=status, coder=coder)
    if isinstance(source, (str, PathLike)):
        path = Path(os.fspath(source))
        if path.suffix.lower() == ".qualcode":
            from qualcode.project import Project

            with Project.open(path) as project:
                return _from_project(project, status=status, coder=coder)
        frame = _read_table(path)
        return _from_frame(frame, status=status, coder=coder, values=values,
                           path=str(path), where=where)
    if isinstance(source, pd.DataFrame):
        return _from_frame(source, status=status, coder=coder, values=values, path=None,
                           where=where)
    if isinstance(source, Mapping):
        _no_filters(status, coder, "a mapping", where)
        documents = [str(d) for d in source]
        presence = {}
        for doc, codes in source.items():
            if isinstance(codes, str):
                codes = [codes]
            presence[str(doc)] = {str(c).strip() for c in codes if str(c).strip()}
        return _Raw(documents, presence, source="mapping of documents to codes")
    raise parameter_error(
        "source", where,
        "a Project, a path to a .qualcode project or a CSV/XLSX table, a DataFrame, or a "
        "mapping of document ids to codes", type(source).__name__,
    )


def _no_filters(status: str | None, coder: str | None, what: str, where: str) -> None:
    # "accepted" is the default: a source without statuses counts as all accepted.
    if status not in (None, "accepted"):
        raise parameter_error("status", where, f"None for {what}, which holds no statuses",
                              status)
    if coder is not None:
        raise parameter_error("coder", where, f"None for {what}, which holds no coders", coder)


def _from_incidence(incidence: Incidence, status: str | None, coder: str | None,
                    where: str) -> _Raw:
    _no_filters(status, coder, "an Incidence", where)
    presence = {d: {c for c, on in zip(incidence.codes, row, strict=True) if on}
                for d, row in zip(incidence.documents, incidence.matrix, strict=True)}
    dates = dict(zip(incidence.documents, incidence.dates or (), strict=False))
    return _Raw(list(incidence.documents), presence, dates={k: v for k, v in dates.items() if v},
                themes=dict(incidence.themes), source=incidence.source,
                notes=list(incidence.data_notes), codes=list(incidence.codes),
                presence_rule=incidence.presence)


def _from_project(project: Any, *, status: str | None, coder: str | None) -> _Raw:
    documents = project.documents.to_frame()
    ids = [str(d) for d in documents["document"]]
    dates = {}
    if "date" in documents.columns:
        dates = {str(d): v for d, v in zip(documents["document"], documents["date"],
                                           strict=True) if _present(v)}
    codings = project.codings(status=status, coder=coder).to_frame()
    if coder and codings.empty and not len(project.codings(coder=coder)):
        # A misspelt coder is an unknown name, not a study without codes.
        known = sorted({c.coder for c in project.codings()})
        raise NotFoundError(f"No codings by coder '{coder}' in {project.path}. Coders: "
                            f"{', '.join(known) or 'none yet'}.")
    presence: dict[str, set[str]] = {d: set() for d in ids}
    for doc, code in zip(codings["document"], codings["code"], strict=True):
        presence.setdefault(str(doc), set()).add(str(code))
    themes = {str(c): str(t) for c, t in zip(codings["code"], codings["theme"], strict=True)
              if _present(t)}
    codebook = getattr(project, "codebook", None)
    if codebook is not None:
        for code in codebook.leaves():
            themes.setdefault(code.id, codebook.theme_of(code.id))
    path = getattr(project, "path", None)
    what = f"{status} codings" if status else "codings of any status"
    if coder:
        what += f" by {coder}"
    name = f" {Path(str(path)).name}" if path else ""
    rule = (f"it had at least one {status} coding" if status
            else "it had at least one coding of any status")
    rule += f" by {coder} there" if coder else " there"
    coders = sorted({str(c) for c in codings["coder"]})
    if not coder and len(coders) > 1:
        rule += f", pooling the codings of {', '.join(coders[:-1])} and {coders[-1]}"
    raw = _Raw(ids, presence, dates=dates, themes=themes, source=f"project{name} ({what})",
               presence_rule=rule)
    _leave_out(raw, {str(d) for d in codings["document"]}, what)
    return raw


def _leave_out(raw: _Raw, counted: set[str], what: str) -> None:
    """Leave out documents without one counted coding, and say so.

    A document nobody has coded yet (or not this coder, or only with suggestions) is not
    an interview that added no new code: counting it so would show saturation that is not
    there. Explicit empty rows (a mapping, a wide table) still count as interviews.
    """
    uncoded = [d for d in raw.documents if d not in counted]
    if not uncoded or len(uncoded) == len(raw.documents):
        return  # nothing to leave out, or nothing coded at all (an error in _build)
    raw.documents = [d for d in raw.documents if d in counted]
    for doc in uncoded:
        raw.presence.pop(doc, None)
        raw.dates.pop(doc, None)
    raw.left_out = uncoded
    raw.notes.append(f"{len(uncoded)} document(s) have no {what} ({_listing(uncoded)}); they "
                     "are left out, not counted as interviews that added no new code.")


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        import pandas as pd

        if pd.isna(value):
            return False
    except (TypeError, ValueError):
        pass
    return bool(str(value).strip())


# -- tables -----------------------------------------------------------------------------------
def _read_table(path: Path):
    import pandas as pd

    if not path.exists():
        raise TableError("No such file; give a project (.qualcode) or a CSV/XLSX table.",
                         path=path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise TableError(
            f"Unknown table format '{suffix or '(none)'}'; use .csv, .tsv, .xlsx or a "
            ".qualcode project.", path=path)
    try:
        if suffix in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, dtype=object)
        else:
            sep = "\t" if suffix == ".tsv" else None
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep,
                                engine="python", encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TableError(f"Cannot read the table: byte {exc.start} is not UTF-8; save it as "
                         "UTF-8 (in Excel: CSV UTF-8).", path=path) from exc
    except csv.Error as exc:  # the delimiter sniffer, on an empty or one-column file
        if not path.read_bytes().strip():
            frame = pd.DataFrame()
        else:
            raise TableError(f"Cannot read the table: {exc}; save it with a comma between "
                             "columns.", path=path) from exc
    except (ValueError, OSError) as exc:
        raise TableError(f"Cannot read the table: {exc}", path=path) from exc
    if frame.shape[1] == 0 or frame.shape[0] == 0:
        raise TableError("The table is empty; it needs a header row and one row per "
                         "interview (wide) or per coding (long).", path=path)
    return frame


def _column(frame, names: Sequence[str]) -> str | None:
    folded = {str(c).strip().casefold(): c for c in frame.columns}
    for name in names:
        if name in folded:
            return folded[name]
    return None


def _row_where(frame, position: int, path: str | None) -> tuple[int | None, str]:
    """(line for the error, words naming the row) for data row ``position`` (0-based)."""
    if path is None:
        return None, f"row {frame.index[position]!r}"
    # header is line 1; a cell spanning lines would shift this, which is rare in exports
    return position + 2, f"row {position + 1}"


def _from_frame(frame, *, status: str | None, coder: str | None, values: str,
                path: str | None, where: str) -> _Raw:
    doc_col = _column(frame, DOCUMENT_COLUMNS)
    code_col = _column(frame, CODE_COLUMNS)
    name = Path(path).name if path else "DataFrame"
    if doc_col is not None and code_col is not None:
        return _from_long(frame, doc_col, code_col, status=status, coder=coder, path=path,
                          name=name, where=where)
    _no_filters(status, coder, "a wide table", where)
    return _from_wide(frame, doc_col, values=values, path=path, name=name)


def _from_long(frame, doc_col: str, code_col: str, *, status: str | None, coder: str | None,
               path: str | None, name: str, where: str) -> _Raw:
    frame = frame.reset_index(drop=True)
    status_col, coder_col = _column(frame, ("status",)), _column(frame, ("coder",))
    keep = np.ones(len(frame), dtype=bool)
    notes = []
    if status is not None:
        if status_col is not None:
            keep &= np.array([str(v).strip() == status for v in frame[status_col]])
        elif status != "accepted":
            raise parameter_error("status", where, "None for a table without a 'status' "
                                  "column", status)
    if coder is not None:
        if coder_col is None:
            raise parameter_error("coder", where, "None for a table without a 'coder' column",
                                  coder)
        keep &= np.array([str(v).strip() == coder for v in frame[coder_col]])
    documents: list[str] = []
    presence: dict[str, set[str]] = {}
    for position, (doc, code) in enumerate(zip(frame[doc_col], frame[code_col], strict=True)):
        if not _present(doc):
            line, row = _row_where(frame, position, path)
            raise TableError(f"{row} has no document id; every coding needs one.", path=path,
                             line=line, field=str(doc_col))
        doc = str(doc).strip()
        if doc not in presence:
            documents.append(doc)
            presence[doc] = set()
        if keep[position] and _present(code):
            presence[doc].add(str(code).strip())
    dates = _per_document(frame, _column(frame, ("date",)), doc_col, path, "date")
    theme_col = _column(frame, ("theme",))
    themes = {}
    if theme_col is not None:
        for code, theme in zip(frame[code_col], frame[theme_col], strict=True):
            if _present(code) and _present(theme):
                themes.setdefault(str(code).strip(), str(theme).strip())
    what = f"long table {name}"
    rule = "it had at least one row (coding) for the interview in the table"
    counted_what = "codings"
    if status_col is not None and status is not None:
        what += f" ({status} codings)"
        rule = f"it had at least one {status} coding for the interview in the table"
        counted_what = f"{status} codings"
    if coder is not None:
        rule += f" by {coder}"
        counted_what += f" by {coder}"
    raw = _Raw(documents, presence, dates=dates, themes=themes, source=what, path=path,
               notes=notes, presence_rule=rule)
    _leave_out(raw, {str(d).strip() for d, k in zip(frame[doc_col], keep, strict=True) if k},
               counted_what)
    return raw


def _per_document(frame, column: str | None, doc_col: str | None, path: str | None,
                  what: str) -> dict[str, Any]:
    """{document: value} from a column that must hold one value per document."""
    if column is None:
        return {}
    docs = frame[doc_col] if doc_col is not None else frame.index
    out: dict[str, Any] = {}
    for position, (doc, value) in enumerate(zip(docs, frame[column], strict=True)):
        if not _present(value):
            continue
        doc = str(doc).strip()
        if doc in out and str(out[doc]) != str(value):
            line, row = _row_where(frame, position, path)
            raise TableError(
                f"Document '{doc}' has two {what}s ({out[doc]} and {value}, {row}); give "
                "each interview one.", path=path, line=line, field=str(column))
        out[doc] = value
    return out


def _from_wide(frame, doc_col: str | None, *, values: str, path: str | None,
               name: str) -> _Raw:
    import pandas as pd

    if doc_col is None and not isinstance(frame.index, pd.RangeIndex):
        ids = [str(v).strip() for v in frame.index]
        data = frame
        doc_field = frame.index.name or "index"
    else:
        doc_col = doc_col if doc_col is not None else frame.columns[0]
        ids = [str(v).strip() if _present(v) else "" for v in frame[doc_col]]
        data = frame.drop(columns=[doc_col])
        doc_field = str(doc_col)
    date_col = _column(data, ("date",))
    dates = {}
    if date_col is not None:
        dates = {d: v for d, v in zip(ids, data[date_col], strict=True) if _present(v)}
        data = data.drop(columns=[date_col])
    for position, doc in enumerate(ids):
        if not doc:
            line, row = _row_where(frame, position, path)
            raise TableError(f"{row} has no document id.", path=path, line=line,
                             field=doc_field)
    seen: dict[str, int] = {}
    duplicates = []
    for position, doc in enumerate(ids):
        if doc in seen:
            duplicates.append((doc, seen[doc], position))
        seen.setdefault(doc, position)
    if duplicates:
        doc, first, again = duplicates[0]
        line, row = _row_where(frame, again, path)
        raise TableError(
            f"Document '{doc}' appears twice ({_row_where(frame, first, path)[1]} and {row}); "
            f"a wide table needs one row per interview. Duplicated: "
            f"{_listing(sorted({d for d, _, _ in duplicates}))}.",
            path=path, line=line, field=doc_field)
    codes = [str(c).strip() for c in data.columns]
    if len(set(codes)) != len(codes):
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        raise TableError(f"Code columns must be unique; repeated: {_listing(repeated)}.",
                         path=path)
    counts = _cell_counts(frame, data, ids, values=values, path=path)
    presence = {doc: {c for c, on in zip(codes, row, strict=True) if on}
                for doc, row in zip(ids, counts > 0, strict=True)}
    return _Raw(ids, presence, dates=dates, source=f"wide table {name}", path=path,
                codes=codes, presence_rule="its cell in the interview's row of the table "
                "was above zero")


def _cell_counts(frame, data, ids: list[str], *, values: str, path: str | None) -> np.ndarray:
    """Non-negative whole numbers per cell (blank = 0), else a TableError naming the cell."""
    import pandas as pd

    out = np.zeros(data.shape, dtype=np.int64)
    expected = "0 or 1" if values == "binary" else "a count (0, 1, 2, ...)"
    for j, column in enumerate(data.columns):
        cells = data[column]
        if cells.dtype == bool:
            out[:, j] = cells.to_numpy(dtype=np.int64)
            continue
        text = cells.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                         else str(v).strip())
        numbers = pd.to_numeric(text.replace({"": "0", "True": "1", "False": "0"}),
                                errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers != np.round(numbers))
        if values == "binary":
            bad |= numbers > 1
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            line, row = _row_where(frame, position, path)
            raw_value = text.iloc[position]
            others = int(bad.sum()) - 1
            more = f" ({others} more cells in this column are invalid)" if others else ""
            raise TableError(
                f"The cell for document '{ids[position]}' ({row}) in code column "
                f"'{column}' holds {raw_value!r}; each cell must be {expected}{more}. "
                "Remove attribute columns other than 'date' from a wide table.",
                path=path, line=line, field=str(column))
        out[:, j] = numbers.astype(np.int64)
    return out


# -- cases, themes ----------------------------------------------------------------------------
def _merge_cases(raw: _Raw, cases: Any) -> None:
    import pandas as pd

    path = None
    if isinstance(cases, (str, PathLike)):
        path = str(cases)
        cases = _read_table(Path(path))
    if not isinstance(cases, pd.DataFrame):
        raise parameter_error("cases", "saturation()",
                              "a path to a cases table or a DataFrame", type(cases).__name__)
    doc_col = _column(cases, DOCUMENT_COLUMNS)
    date_col = _column(cases, ("date",))
    if doc_col is None or date_col is None:
        raise TableError("A cases table needs a 'document' and a 'date' column.", path=path)
    from qualcode.ingest.cases import match_case_rows

    # Ids match documents as in ingest ("P01.docx" and "p01" name P01); a table that
    # matches none is an error, not a note followed by curves in the default order.
    rows = [(str(doc).strip(), _row_where(cases, i, path)[0])
            for i, doc in enumerate(cases[doc_col]) if _present(doc)]
    documents = [*raw.documents, *raw.left_out]
    targets, unmatched = match_case_rows(rows, documents, path=path, id_column=str(doc_col))
    name = f"the cases table {Path(path).name}" if path else "the cases table"
    dates: dict[str, Any] = {}
    for case_id, value in _per_document(cases, date_col, doc_col, path, "date").items():
        for doc in targets.get(case_id, ()):
            if doc in dates and str(dates[doc]) != str(value):
                raise TableError(f"Two rows name document '{doc}' with different dates "
                                 f"({dates[doc]} and {value}); keep one.", path=path,
                                 field=str(doc_col))
            dates[doc] = value
    if unmatched:
        listed = [f"{case_id} (line {line})" if line else case_id for case_id, line in unmatched]
        raw.notes.append(f"{len(unmatched)} id(s) in {name} match no document and are not "
                         f"used: {_listing(listed, 5)}.")
    undated = [d for d in raw.documents if d not in dates]
    if undated:  # ordering by date needs one for each: _order says so
        without = [d for d in undated if d not in raw.dates]
        how = ("they have no date" if len(without) == len(undated) else
               "they keep the date the source gave them" + (
                   f", and {_listing(without)} have none" if without else ""))
        raw.notes.append(f"{len(undated)} interview(s) have no row in {name} "
                         f"({_listing(undated)}); {how}.")
    raw.dates.update({d: v for d, v in dates.items() if d in raw.presence})


def _theme_mapping(code_themes: Any, where: str) -> dict[str, str]:
    if hasattr(code_themes, "theme_of") and hasattr(code_themes, "leaves"):
        return {c.id: code_themes.theme_of(c.id) for c in code_themes.codes}
    if isinstance(code_themes, Mapping):
        return {str(k): str(v) for k, v in code_themes.items()}
    raise parameter_error("code_themes", where, "a Codebook or a mapping of code -> theme",
                          type(code_themes).__name__)


def _keep_themes(raw: _Raw, wanted: list[str], where: str) -> None:
    if not raw.themes:
        raise parameter_error("themes", where,
                              "None when the source says nothing about themes (give "
                              "code_themes= or a 'theme' column)", wanted)
    known = sorted(set(raw.themes.values()))
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise NotFoundError(f"No theme {_listing(unknown)} among the codes' themes; known "
                            f"themes: {_listing(known, 20)}.")
    keep = {c for c, t in raw.themes.items() if t in wanted}
    for doc in raw.presence:
        raw.presence[doc] &= keep
    raw.codes = [c for c in raw.codes if c in keep]
    raw.notes.append(theme_note(wanted))


def theme_note(themes: Sequence[str]) -> str:
    """The note saying which themes' codes were counted (methods.md says it in its Methods
    paragraph instead)."""
    return f"Only codes of the theme(s) {', '.join(themes)} are counted."


# -- ordering and the matrix ------------------------------------------------------------------
def _build(raw: _Raw, *, order: Any, min_interviews: int, where: str) -> Incidence:
    documents = raw.documents
    if len(documents) == 0:
        raise InputError(f"The {raw.source or 'source'} holds no interviews.", path=raw.path)
    if len(documents) == 1:
        raise InputError(
            f"The {raw.source or 'source'} holds one interview ({documents[0]}); saturation "
            "compares interviews, so it needs at least two.", path=raw.path)
    codes = list(dict.fromkeys([*raw.codes, *(c for d in documents for c in
                                              sorted(raw.presence[d]))]))
    matrix = np.zeros((len(documents), len(codes)), dtype=bool)
    column = {c: j for j, c in enumerate(codes)}
    for i, doc in enumerate(documents):
        for code in raw.presence[doc]:
            matrix[i, column[code]] = True
    notes = list(raw.notes)
    counts = matrix.sum(axis=0)
    never = [c for c, k in zip(codes, counts, strict=True) if k == 0]
    if never:
        notes.append(f"{len(never)} code column(s) are never present and are not counted "
                     f"({_listing(never)}).")
    keep = counts >= max(min_interviews, 1)
    rare = [c for c, k in zip(codes, counts, strict=True) if 0 < k < min_interviews]
    if rare:
        notes.append(f"Only codes present in at least {min_interviews} interviews are counted: "
                     f"{len(rare)} code(s) are left out ({_listing(rare)}).")
    if not keep.any():
        why = (f" in at least {min_interviews} interviews" if min_interviews > 1 and counts.any()
               else "")
        raise InputError(f"The {raw.source or 'source'} has no code present{why}; "
                         "saturation needs coded interviews.", path=raw.path)
    codes = [c for c, k in zip(codes, keep, strict=True) if k]
    matrix = matrix[:, keep]
    empty = [d for d, row in zip(documents, matrix, strict=True) if not row.any()]
    if empty:
        notes.append(f"{len(empty)} interview(s) have no counted code ({_listing(empty)}); "
                     "each counts as an interview that added nothing new.")
    positions, basis, order_notes, dates = _order(raw, order, where)
    ordered_docs = tuple(documents[i] for i in positions)
    themes = {c: raw.themes[c] for c in codes if c in raw.themes}
    return Incidence(
        documents=ordered_docs, codes=tuple(codes), matrix=matrix[positions],
        order=basis, dates=None if dates is None else tuple(dates[d] for d in ordered_docs),
        themes=themes, source=raw.source, presence=raw.presence_rule,
        data_notes=tuple(dict.fromkeys(notes)), order_notes=tuple(order_notes),
        dropped_codes=tuple(rare),
    )


def _parse_dates(raw: _Raw) -> dict[str, str]:
    """{document: 'YYYY-MM-DD' or full ISO} for documents with a date; errors name the bad."""
    import pandas as pd

    if not raw.dates:
        return {}
    docs = list(raw.dates)
    parsed = pd.to_datetime(pd.Series([raw.dates[d] for d in docs], dtype=object),
                            errors="coerce", format="ISO8601")
    bad = [f"{d} ({raw.dates[d]!r})" for d, p in zip(docs, parsed, strict=True) if pd.isna(p)]
    if bad:
        raise InputError(f"Dates must be ISO 8601 (YYYY-MM-DD); cannot read the date of "
                         f"{_listing(bad)}.", path=raw.path, field="date")
    out = {}
    for d, p in zip(docs, parsed, strict=True):
        timestamp = pd.Timestamp(p)
        out[d] = (timestamp.date().isoformat() if timestamp == timestamp.normalize()
                  else timestamp.isoformat())
    return out


def _order(raw: _Raw, order: Any, where: str):
    """(row positions in analysis order, basis, notes, dates by document or None)."""
    documents = raw.documents
    index = {d: i for i, d in enumerate(documents)}
    dates = _parse_dates(raw)
    all_dates = dates if len(dates) == len(documents) else None
    if order is None:
        if dates:
            order = "date"
        else:
            return (list(range(len(documents))), "given",
                    ["No interview dates were found, so interviews are taken in the order "
                     f"given{ORDER_ADVICE}."], None)
    if isinstance(order, str) and order in ORDER_KEYWORDS:
        if order == "given":
            return list(range(len(documents))), "given", [], all_dates
        missing = [d for d in documents if d not in dates]
        if missing:
            raise InputError(
                f"No date for {len(missing)} of {len(documents)} interviews "
                f"({_listing(missing)}); give each a date attribute, or pass order='given' "
                "(--order given) or an order file.", path=raw.path, field="date")
        positions = sorted(range(len(documents)), key=lambda i: (
            _sort_key(dates[documents[i]]), i))
        notes = []
        values = [dates[d] for d in documents]
        tied = sorted({d for d in values if values.count(d) > 1})
        if tied:
            n_tied = sum(values.count(d) for d in tied)
            notes.append(f"{n_tied} interviews share a date with another ({_listing(tied)}); "
                         "those keep the order given.")
        return positions, "date", notes, all_dates
    if isinstance(order, (str, PathLike)):
        path = Path(os.fspath(order))
        if not path.is_file():
            raise parameter_error(
                "order", where, "'date', 'given', a file with one document id per line, or a "
                "sequence of document ids", os.fspath(order))
        ids, lines = _read_order_file(path)
        # Documents left out for want of a counted coding may be listed; skip them.
        lines = [n for d, n in zip(ids, lines, strict=True) if d not in raw.left_out]
        ids = [d for d in ids if d not in raw.left_out]
        positions = _check_order(ids, index, path=str(path), lines=lines, where=where)
        return positions, f"file {path.name}", [], all_dates
    if isinstance(order, Iterable):
        ids = [d for d in (str(v).strip() for v in order) if d not in raw.left_out]
        positions = _check_order(ids, index, path=None, lines=None, where=where)
        return positions, "sequence", [], all_dates
    raise parameter_error("order", where, "'date', 'given', a file with one document id per "
                          "line, or a sequence of document ids", order)


def _sort_key(value: str):
    import pandas as pd

    return pd.Timestamp(value)


def _read_order_file(path: Path) -> tuple[list[str], list[int]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"Cannot read the order file: {exc}", path=path) from exc
    ids, lines = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.strip()
        if value and not value.startswith("#"):
            ids.append(value)
            lines.append(number)
    return ids, lines


def _check_order(ids: list[str], index: dict[str, int], *, path: str | None,
                 lines: list[int] | None, where: str) -> list[int]:
    seen: dict[str, int] = {}
    for k, doc in enumerate(ids):
        if doc in seen:
            line = lines[k] if lines else None
            message = f"Document '{doc}' is listed twice in the order; list each interview once."
            if path:
                raise InputError(message, path=path, line=line)
            raise ParameterError(message)
        seen[doc] = k
    unknown = [d for d in ids if d not in index]
    if unknown:
        import difflib

        folded = {d.casefold(): d for d in index}
        hint = difflib.get_close_matches(unknown[0].casefold(), list(folded), n=1)
        did = f" Did you mean '{folded[hint[0]]}' for '{unknown[0]}'?" if hint else ""
        message = (f"The order names {len(unknown)} document(s) that are not in the data: "
                   f"{_listing(unknown)}.{did}")
        if path:
            raise InputError(message, path=path, line=lines[ids.index(unknown[0])])
        raise NotFoundError(message)
    missing = [d for d in index if d not in seen]
    if missing:
        message = (f"The order lists {len(ids)} of {len(index)} interviews; missing: "
                   f"{_listing(missing)}. List every interview once.")
        if path:
            raise InputError(message, path=path)
        raise ParameterError(message)
    return [index[d] for d in ids]
