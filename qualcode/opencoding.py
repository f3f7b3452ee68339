"""Open coding: candidate codes found in the data, and the recorded path into a codebook.

:func:`candidates` groups a project's segments into candidate codes (topics over sentence
embeddings, see :mod:`qualcode.coders.topics`), each with c-TF-IDF keywords, noun phrases,
a readable label, its size, how many documents it spans and its most typical quotes with
attributions, and groups candidates close in meaning into themes (suggestions of what to
merge or gather under one theme code). The researcher then works with them:

- :func:`accept_candidates`: a candidate becomes a code (its quotes become the code's
  examples, its keywords the code's keywords) and its segments ``suggested`` codings
  (method ``open-coding``, with a reason naming the candidate);
- :func:`rename_candidate`, :func:`merge_candidates`, :func:`split_candidate`,
  :func:`discard_candidates`.

Every step stores a new codebook version whose note says what was done, so the codebook's
history is the record of open coding (``qualcode codebook diff PROJECT:1 PROJECT:2``); a
step on candidates not yet accepted leaves the codes as they were.

On a project that already has a codebook, each candidate says how far the codebook covers
it: the share of its segments holding an accepted coding (``coverage``, and the code most
of them use) and the code whose name, definition, criteria or examples are nearest in
meaning (``nearest_code``, ``similarity``). Candidates covered by neither are flagged
``uncovered``: what the codebook does not hold yet.

Where candidates are kept
-------------------------
A candidate set is saved as JSON beside the project: ``study.qualcode`` ->
``study.qualcode.candidates.json`` (the latest set; :func:`candidates_path`). That is what
lets ``qualcode candidates accept study.qualcode c03`` refer to a candidate made by an
earlier ``qualcode open-code``. It is working state, not the record: the record is the
codebook versions, the codings and a memo on each accepted code. The set remembers which
documents it was made from and refuses to act on a project whose documents changed.
Running :func:`candidates` again replaces the file (steps already taken stay in the
codebook, and the new set shows how far the grown codebook covers each candidate). Steps
are meant to be run one at a time: two processes stepping on one set at once may lose
one of the updates to the file (never to the project).

>>> found = candidates(project, min_size=10, seed=0)      # doctest: +SKIP
>>> found.to_frame().head()                                # doctest: +SKIP
>>> accept_candidates(project, ["c01", "c04"])             # doctest: +SKIP
>>> merge_candidates(project, ["c02", "c07"], name="Doorstep")   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.codebook import slugify
from qualcode.errors import (
    DependencyError,
    NotFoundError,
    ParameterError,
    ProjectError,
    parameter_error,
)
from qualcode.model import SEGMENT_KINDS, Code, Codebook, Coding, Segment, now_iso

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from qualcode.project import Project

__all__ = [
    "OPEN_CODER",
    "Candidate",
    "CandidateSet",
    "Quote",
    "accept_candidates",
    "candidates",
    "candidates_path",
    "discard_candidates",
    "load_candidates",
    "merge_candidates",
    "rename_candidate",
    "report_paths",
    "split_candidate",
]

OPEN_CODER = "open-coding"  # coder name and method of the codings open coding suggests
FORMAT = "qualcode-candidates"
FORMAT_VERSION = 1
STATUSES = ("open", "accepted", "discarded", "merged", "split")
INTERVIEWER_MODES = ("context", "separate", "include")
COVERED_SHARE = 0.5        # covered when half a candidate's segments carry accepted codings
COVERED_SIMILARITY = 0.45  # ... or when a code's description is this close to its centroid
_QUOTES = 5
_PHRASE_SAMPLE = 15  # noun phrases come from this many of a candidate's most central segments
PathArg = str | PathLike[str]


# -- values -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Quote:
    """A representative segment of a candidate, with its attribution."""

    document: str
    start: int
    end: int
    text: str
    speaker: str | None = None
    setting: str | None = None
    similarity: float | None = None

    @property
    def attribution(self) -> str:
        """``"Emma, AP02_emma, Broadtown"``: speaker, document and setting, where known."""
        return ", ".join(x for x in (self.speaker, self.document, self.setting) if x)


@dataclass(frozen=True)
class Candidate:
    """A candidate code: a group of segments with keywords, phrases, a label and quotes.

    ``segments`` are ``(document, start, end)`` of its members and ``scores`` how typical
    each is (cosine similarity to the candidate's centre, 0-1; the confidence its
    suggested codings get). ``status`` is ``open``, ``accepted`` (``code`` is the code it
    became), ``discarded``, ``merged`` or ``split`` (``replaced_by`` names the
    candidates that took its place). Coverage fields are set when the project had a
    codebook (see the module docstring).
    """

    id: str
    label: str
    segments: tuple[tuple[str, int, int], ...]
    scores: tuple[float, ...] = ()
    keywords: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    quotes: tuple[Quote, ...] = ()
    source: str = "topics"
    status: str = "open"
    code: str | None = None
    parents: tuple[str, ...] = ()
    replaced_by: tuple[str, ...] = ()
    coverage: float | None = None
    covered_by: str | None = None
    nearest_code: str | None = None
    similarity: float | None = None
    uncovered: bool | None = None
    theme: str | None = None

    @property
    def size(self) -> int:
        """How many segments the candidate holds."""
        return len(self.segments)

    @property
    def documents(self) -> int:
        """How many documents (interviews) its segments come from: its spread."""
        return len({d for d, _, _ in self.segments})

    @property
    def active(self) -> bool:
        """Open or accepted (not discarded, merged or split)."""
        return self.status in ("open", "accepted")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["segments"] = [[d, s, e, round(x, 4)] for (d, s, e), x
                            in zip(self.segments, self._scores(), strict=True)]
        del data["scores"]
        return data

    def _scores(self) -> tuple[float, ...]:
        return self.scores if len(self.scores) == len(self.segments) else (
            (1.0,) * len(self.segments))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        data = dict(data)
        rows = data.pop("segments")
        return cls(
            segments=tuple((str(d), int(s), int(e)) for d, s, e, _ in rows),
            scores=tuple(float(x) for *_, x in rows),
            quotes=tuple(Quote(**q) for q in data.pop("quotes", ())),
            **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()},
        )


def report_paths(out_dir: PathArg, *, overwrite: bool = False) -> dict[str, Path]:
    """The files a candidates report writes into ``out_dir``, {file name: path}; refuses a
    folder that is a file, or one holding them unless ``overwrite``. Call it before finding
    candidates, so a bad folder costs no work."""
    from qualcode.export._common import report_files

    return report_files(Path(out_dir), ("candidates.md", "candidates.csv", "candidates.png",
                                        "candidates.svg"), overwrite=overwrite)


@dataclass(frozen=True)
class CandidateSet:
    """Candidate codes of a project, and what has been done with them.

    ``message`` explains anything unusual (a corpus too small for topic modelling);
    ``params`` are the settings it was made with; ``history`` lists the steps taken
    (accept, rename, merge, split, discard) with the codebook version each stored.

    Use :meth:`to_frame` in a notebook (the set also renders as HTML), :meth:`plot` for
    the size-versus-spread figure and :meth:`write_report` for Markdown, CSV and figures.
    """

    candidates: tuple[Candidate, ...]
    project: str
    fingerprint: str
    unit: str
    method: str
    params: Mapping[str, Any]
    n_segments: int
    n_documents: int
    unassigned: int = 0
    message: str = ""
    created: str = field(default_factory=now_iso)
    codebook_version: int | None = None
    history: tuple[Mapping[str, Any], ...] = ()

    # -- access ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.candidates)

    def __iter__(self) -> Iterator[Candidate]:
        return iter(self.candidates)

    def __getitem__(self, candidate_id: str) -> Candidate:
        for candidate in self.candidates:
            if candidate.id == candidate_id:
                return candidate
        import difflib

        close = difflib.get_close_matches(str(candidate_id), [c.id for c in self], n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise NotFoundError(f"No candidate '{candidate_id}' in this candidate set.{hint}")

    @property
    def active(self) -> tuple[Candidate, ...]:
        """Candidates still in play: open or accepted."""
        return tuple(c for c in self.candidates if c.active)

    def themes(self) -> dict[str, tuple[str, ...]]:
        """Candidate themes: ``{"t01": ("c02", "c09"), ...}`` over open and accepted
        candidates (see :attr:`Candidate.theme`)."""
        out: dict[str, list[str]] = {}
        for c in self.active:
            if c.theme is not None:
                out.setdefault(c.theme, []).append(c.id)
        return {t: tuple(ids) for t, ids in sorted(out.items()) if len(ids) > 1}

    def __repr__(self) -> str:
        counts = Counter(c.status for c in self.candidates)
        states = ", ".join(f"{n} {s}" for s, n in counts.items())
        return (f"<CandidateSet {len(self)} candidates ({states or 'none'}) from "
                f"{self.n_segments} {self.unit} segments>")

    def summary(self) -> str:
        """One line: how many candidates, from what, with which settings."""
        p = self.params
        if self.method == "topics":
            how = (f"topics ({p.get('cluster')}, seed {p.get('seed')}, min size "
                   f"{p.get('min_size')}, context {p.get('context')})")
        else:
            how = "shared noun phrases"
        active = len(self.active)
        line = (f"{active} candidate{'s' if active != 1 else ''} from {self.n_segments} "
                f"{self.unit} segments in {self.n_documents} documents, by {how}")
        if p.get("interviewer") == "separate":
            line += "; the interviewer's segments as a candidate of their own"
        if self.unassigned:
            line += f"; {self.unassigned} segments in no candidate"
        return line + "."

    # -- tables -----------------------------------------------------------------------
    def to_frame(self, *, all_candidates: bool = False) -> pd.DataFrame:
        """One row per candidate (open and accepted ones; ``all_candidates=True`` adds
        discarded, merged and split ones): id, label, status, code, segments, documents,
        keywords, phrases, quote, and the coverage columns."""
        import pandas as pd

        rows = []
        for c in self.candidates if all_candidates else self.active:
            rows.append({
                "id": c.id, "label": c.label, "status": c.status, "code": c.code,
                "segments": c.size, "documents": c.documents,
                "keywords": ", ".join(c.keywords), "phrases": ", ".join(c.phrases),
                "quote": c.quotes[0].text if c.quotes else "",
                "attribution": c.quotes[0].attribution if c.quotes else "",
                "source": c.source, "coverage": c.coverage, "covered_by": c.covered_by,
                "nearest_code": c.nearest_code, "similarity": c.similarity,
                "uncovered": c.uncovered, "theme": c.theme,
            })
        columns = ["id", "label", "status", "code", "segments", "documents", "keywords",
                   "phrases", "quote", "attribution", "source", "coverage", "covered_by",
                   "nearest_code", "similarity", "uncovered", "theme"]
        return pd.DataFrame(rows, columns=columns)

    def to_dict(self) -> dict[str, Any]:
        """Everything, as JSON-ready values (what :meth:`save` writes)."""
        return {
            "format": FORMAT, "version": FORMAT_VERSION, "project": self.project,
            "fingerprint": self.fingerprint, "unit": self.unit, "method": self.method,
            "params": dict(self.params), "n_segments": self.n_segments,
            "n_documents": self.n_documents, "unassigned": self.unassigned,
            "message": self.message, "created": self.created,
            "codebook_version": self.codebook_version,
            "history": [dict(h) for h in self.history],
            "candidates": [c.to_dict() for c in self.candidates],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CandidateSet:
        if data.get("format") != FORMAT:
            raise ParameterError("This is not a qualcode candidate set (no 'format' field).")
        if int(data.get("version", 0)) > FORMAT_VERSION:
            raise ProjectError(
                "This candidate set was written by a newer qualcode; upgrade qualcode or "
                "run open-code again.")
        return cls(
            candidates=tuple(Candidate.from_dict(c) for c in data["candidates"]),
            project=data["project"], fingerprint=data["fingerprint"], unit=data["unit"],
            method=data["method"], params=dict(data["params"]),
            n_segments=int(data["n_segments"]), n_documents=int(data["n_documents"]),
            unassigned=int(data.get("unassigned", 0)), message=data.get("message", ""),
            created=data["created"], codebook_version=data.get("codebook_version"),
            history=tuple(data.get("history", ())),
        )

    def save(self, path: PathArg) -> Path:
        """Write the set as JSON (atomically: a reader never sees half a file)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n"
        try:
            handle, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise ProjectError(f"Cannot save the candidate set to {path}: {exc}.") from exc
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise ProjectError(f"Cannot save the candidate set to {path}: {exc}.") from exc
            raise
        return path

    @classmethod
    def load(cls, path: PathArg) -> CandidateSet:
        """Read a set written by :meth:`save`."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise ProjectError(
                f"{path} is not a readable candidate set ({exc}). Delete it and run "
                "`qualcode open-code` again.") from exc

    # -- outputs --------------------------------------------------------------------
    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f"<p><b>Open coding candidates</b>: {esc(self.summary())}</p>"]
        if self.message:
            parts.append(f"<p><i>{esc(self.message)}</i></p>")
        if not self.active:
            return "".join(parts)
        parts.append("<table><thead><tr><th>id</th><th>label</th><th>status</th>"
                     "<th>segments</th><th>documents</th><th>keywords</th>"
                     "<th>quotes</th></tr></thead><tbody>")
        for c in self.active:
            quotes = "<br>".join(
                f"&ldquo;{esc(_clip(q.text, 160))}&rdquo; <small>({esc(q.attribution)})"
                "</small>" for q in c.quotes[:3])
            flag = " <b>(not in codebook)</b>" if c.uncovered else ""
            status = c.status + (f": {esc(c.code)}" if c.code else "")
            parts.append(
                f"<tr><td>{esc(c.id)}</td><td>{esc(c.label)}{flag}</td><td>{status}</td>"
                f"<td>{c.size}</td><td>{c.documents}</td>"
                f"<td>{esc(', '.join(c.keywords[:6]))}</td><td>{quotes}</td></tr>")
        parts.append("</tbody></table>")
        return "".join(parts)

    def plot(self, ax: Any = None):  # -> matplotlib.figure.Figure
        """Candidates by size (segments) and spread (documents they span), labelled.

        Draws on ``ax`` when given, else on a new :class:`matplotlib.figure.Figure` (never
        pyplot: no GUI backend is needed or changed). Returns the figure.
        """
        from matplotlib.figure import Figure

        figure = Figure(figsize=(7.5, 5.5), layout="constrained") if ax is None else ax.figure
        if ax is None:
            ax = figure.add_subplot()
        shown = self.active
        if not shown:
            ax.text(0.5, 0.5, self.message or "No candidates", ha="center", va="center",
                    wrap=True, transform=ax.transAxes)
            ax.set_axis_off()
            return figure
        styles = {
            ("open", False): ("#4c72b0", "o", "open"),
            ("open", True): ("#dd8452", "D", "open, not covered by the codebook"),
            ("accepted", False): ("#55a868", "s", "accepted"),
            ("accepted", True): ("#55a868", "s", "accepted"),
        }
        seen = set()
        for c in shown:
            colour, marker, label = styles[(c.status, bool(c.uncovered))]
            ax.scatter(c.size, c.documents, s=36, c=colour, marker=marker, zorder=3,
                       label=None if label in seen else label, edgecolors="white",
                       linewidths=0.5)
            seen.add(label)
            ax.annotate(f"{c.id} {_clip(c.label, 22)}", (c.size, c.documents),
                        xytext=(4, 3), textcoords="offset points", fontsize=6.5,
                        color="#333333")
        ax.set_xscale("log")
        ax.set_xlabel(f"Segments in the candidate ({self.unit}s, log scale)")
        ax.set_ylabel(f"Documents it spans (of {self.n_documents})")
        ax.set_ylim(0, self.n_documents + 1)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.set_title("Open coding candidates: size and spread", fontsize=10)
        ax.legend(fontsize=7, loc="lower right", frameon=False)
        return figure

    def to_markdown(self, title: str | None = None) -> str:
        """A report: the summary, a table of candidates, then each candidate with its
        keywords, noun phrases, coverage and quotes."""
        name = title or f"Open coding candidates: {Path(self.project).name}"
        lines = [f"# {name}", "", self.summary(), ""]
        if self.message:
            lines += [f"> {self.message}", ""]
        shown = sorted(self.active, key=lambda c: (not c.uncovered, _id_key(c.id)))
        if not shown:
            return "\n".join(lines)
        lines += ["| id | label | status | segments | documents | keywords |",
                  "|---|---|---|---:|---:|---|"]
        for c in shown:
            flag = " (not in codebook)" if c.uncovered else ""
            status = c.status + (f": `{c.code}`" if c.code else "")
            lines.append(f"| {c.id} | {_md(c.label)}{flag} | {status} | {c.size} | "
                         f"{c.documents} | {_md(', '.join(c.keywords[:6]))} |")
        themes = self.themes()
        if themes:
            lines += ["", "Candidates close in meaning (themes: merge them, or gather them "
                      "under one theme code):", ""]
            for theme, ids in themes.items():
                named = ", ".join(f"{i} {_md(self[i].label)}" for i in ids)
                lines.append(f"- {theme}: {named}")
        for c in shown:
            lines += ["", f"## {c.id}: {_md(c.label)}", "",
                      f"{c.size} segments in {c.documents} of {self.n_documents} documents; "
                      f"status {c.status}" + (f" (code `{c.code}`)" if c.code else "") + ".",
                      ""]
            if c.keywords:
                lines.append(f"- Keywords (c-TF-IDF): {_md(', '.join(c.keywords))}")
            if c.phrases:
                lines.append(f"- Noun phrases: {_md(', '.join(c.phrases))}")
            if c.coverage is not None or c.similarity is not None:
                lines.append(f"- Codebook: {_coverage_text(c)}")
            if c.parents:
                lines.append(f"- Made from: {', '.join(c.parents)}")
            if c.theme and c.theme in themes:
                others = [i for i in themes[c.theme] if i != c.id]
                lines.append(f"- Theme {c.theme}, with {', '.join(others)}")
            lines.append("")
            for q in c.quotes:
                lines += [f"> {_md(q.text)}", f"> — {_md(q.attribution)}", ""]
        return "\n".join(lines).rstrip() + "\n"

    def write_report(self, out_dir: PathArg, *, overwrite: bool = False) -> dict[str, Path]:
        """Write ``candidates.md``, ``candidates.csv``, ``candidates.png`` and
        ``candidates.svg`` into ``out_dir`` (created if needed). Refuses to replace
        existing files unless ``overwrite``. Returns {file name: path}."""
        paths = report_paths(out_dir, overwrite=overwrite)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        paths["candidates.md"].write_text(self.to_markdown(), encoding="utf-8")
        self.to_frame().to_csv(paths["candidates.csv"], index=False)
        figure = self.plot()
        # No timestamps in the files: the same candidates give the same bytes.
        figure.savefig(paths["candidates.png"], dpi=200, format="png",
                       metadata={"Software": None})
        figure.savefig(paths["candidates.svg"], format="svg", metadata={"Date": None})
        return paths

    def to_summary_dict(self) -> dict[str, Any]:
        """A compact dict for ``--json`` output: the summary and one entry per candidate
        without its segment list."""
        rows = []
        for c in self.active:
            rows.append({
                "id": c.id, "label": c.label, "status": c.status, "code": c.code,
                "segments": c.size, "documents": c.documents, "keywords": list(c.keywords),
                "phrases": list(c.phrases), "source": c.source, "parents": list(c.parents),
                "coverage": c.coverage, "covered_by": c.covered_by,
                "nearest_code": c.nearest_code, "similarity": c.similarity,
                "uncovered": c.uncovered, "theme": c.theme,
                "quotes": [{"text": q.text, "attribution": q.attribution} for q in c.quotes],
            })
        return {"summary": self.summary(), "message": self.message,
                "unit": self.unit, "method": self.method, "params": dict(self.params),
                "n_segments": self.n_segments, "n_documents": self.n_documents,
                "unassigned": self.unassigned, "candidates": rows}


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _id_key(candidate_id: str) -> tuple[int, str]:
    digits = candidate_id.lstrip("c")
    return (int(digits), candidate_id) if digits.isdigit() else (10**9, candidate_id)


def _coverage_text(c: Candidate) -> str:
    parts = []
    if c.coverage is not None:
        part = f"{c.coverage:.0%} of its segments carry an accepted coding"
        if c.covered_by:
            part += f" (mostly `{c.covered_by}`)"
        parts.append(part)
    if c.nearest_code is not None and c.similarity is not None:
        parts.append(f"nearest code `{c.nearest_code}` (similarity {c.similarity:.2f})")
    text = "; ".join(parts)
    return text + ("; **not covered yet**" if c.uncovered else "")


# -- where sets live --------------------------------------------------------------------
def candidates_path(project: Project | PathArg) -> Path:
    """The file a project's latest candidate set is kept in:
    ``study.qualcode`` -> ``study.qualcode.candidates.json``."""
    path = Path(project.path if hasattr(project, "path") else project)
    return path.with_name(path.name + ".candidates.json")


def _fingerprint(project: Project, unit: str, documents: Sequence[str]) -> str:
    digest = hashlib.sha256(unit.encode())
    wanted = set(documents)
    for document in project.documents:
        if document.id in wanted:
            digest.update(f"\n{document.id}\t{document.content_hash}".encode())
    return digest.hexdigest()


def load_candidates(project: Project | PathArg) -> CandidateSet:
    """The candidate set last made for ``project`` (see :func:`candidates_path`).

    Raises :class:`~qualcode.errors.NotFoundError` when there is none and
    :class:`~qualcode.errors.ProjectError` when the project's documents changed since.
    """
    from qualcode.api import open_project

    path = candidates_path(project)
    try:
        found = CandidateSet.load(path)
    except FileNotFoundError:
        name = project.path if hasattr(project, "path") else project
        raise NotFoundError(
            f"No candidate set for {name} (looked for {path}). Make one with "
            f"`qualcode open-code {name}` or candidates(project).") from None
    owned = not hasattr(project, "path")
    target = open_project(project)
    try:
        _check_fingerprint(target, found)
    finally:
        if owned:
            target.close()
    return found


def _check_fingerprint(project: Project, found: CandidateSet) -> None:
    documents = found.params.get("documents") or project.documents.ids
    if _fingerprint(project, found.unit, documents) != found.fingerprint:
        raise ProjectError(
            f"The candidate set {candidates_path(project)} was made from other documents "
            f"than {project.path} now holds (documents were added, removed or changed). "
            "Run `qualcode open-code` again.")


# -- making candidates ------------------------------------------------------------------
def candidates(
    project: Project | PathArg,
    *,
    min_size: int = 10,
    n_candidates: int | None = None,
    seed: int = 0,
    unit: str | None = None,
    context: float = 1.0,
    interviewer: str = "context",
    cluster: str = "ward",
    documents: Sequence[str] | None = None,
    model: str | None = None,
    precision: str = "float32",
    save: bool = True,
) -> CandidateSet:
    """Candidate codes for a project's segments, with keywords, labels and quotes.

    Parameters
    ----------
    project : a :class:`~qualcode.project.Project` or the path of one.
    min_size : the fewest segments a candidate may hold (default 10).
    n_candidates : how many topics to look for (default: about ``sqrt(segments / 6)``;
        Ward and k-means only).
    seed : the same seed gives the same candidates (Ward, the default clustering, has no
        random start: other seeds give much the same candidates).
    unit : which segments: ``turn``, ``paragraph`` or ``sentence`` (default: the
        project's unit). Sentences or paragraphs give tighter candidates than long turns.
    context : how much a segment's surroundings (the question it answers, its neighbours
        in the same turn) count when grouping it, from 0 (its words alone) upwards. In a
        think-aloud protocol the question is the task prompt being worked on (an
        unlabelled heading such as "3.a Please explain your choices").
    interviewer : what becomes of the interviewer's segments. ``context`` (default): only
        what participants said is grouped; the interviewer's questions are context for
        the answers. ``separate``: the same, and the interviewer's segments make one
        candidate of their own (source ``interviewer``), never mixed with the
        participants' (for a think-aloud study, whose moderator mostly steps in to help:
        the interventions are worth coding as such; split the candidate to see their
        kinds). ``include``: the interviewer's segments are grouped with the
        participants'. Unlabelled prompts in labelled documents (task headings) are used
        as context, never grouped.
    cluster : ``ward`` (default), ``kmeans``, ``hdbscan`` or ``umap-hdbscan``; see
        :mod:`qualcode.coders.topics`.
    documents : only these documents (default: all).
    model : the sentence-transformers model (default ``all-MiniLM-L6-v2``, offline).
    precision : ``float32`` (default) or ``int8``: the model's linear layers quantised to
        int8 in ONNX Runtime (the ``onnx`` extra; see
        :func:`qualcode.coders.embeddings.embed`), for a faster first run on a large
        corpus. Its vectors differ a little from float32 ones (mean cosine 0.988 on the
        swj2022 sentences), so the candidates may too; they are cached apart. Later
        steps on the set (split) use the same precision.
    save : keep the set beside the project (:func:`candidates_path`) so later steps and
        CLI calls can name candidates by id.

    Returns a :class:`CandidateSet`. A corpus too small for topic modelling (fewer than
    ``max(20, 2 * min_size)`` segments) gets candidates from noun phrases shared by
    segments, and a ``message`` saying so.
    """
    from qualcode.api import open_project
    from qualcode.coders import topics
    from qualcode.coders.embeddings import DEFAULT_MODEL, PRECISIONS

    where = "candidates()"
    _check_int("min_size", where, min_size, 2)
    if n_candidates is not None:
        _check_int("n_candidates", where, n_candidates, 2)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise parameter_error("seed", where, "an integer", seed)
    if isinstance(context, bool) or not isinstance(context, (int, float)) or not (
            0 <= context <= 10):
        raise parameter_error("context", where, "a number in [0, 10]", context)
    if interviewer not in INTERVIEWER_MODES:
        raise parameter_error("interviewer", where, f"one of {', '.join(INTERVIEWER_MODES)}",
                              interviewer)
    if cluster not in topics.CLUSTER_METHODS:
        raise parameter_error("cluster", where,
                              f"one of {', '.join(topics.CLUSTER_METHODS)}", cluster)
    if unit is not None:
        plural = {f"{kind}s": kind for kind in SEGMENT_KINDS}
        unit = plural.get(unit, unit)
        if unit not in SEGMENT_KINDS:
            raise parameter_error("unit", where, f"one of {', '.join(SEGMENT_KINDS)}", unit)
    if precision not in PRECISIONS:
        raise parameter_error("precision", where, f"one of {', '.join(PRECISIONS)}",
                              precision)
    model = model or DEFAULT_MODEL
    owned = not hasattr(project, "path")
    target = open_project(project)
    try:
        return _make_candidates(
            target, min_size=min_size, n_candidates=n_candidates, seed=seed, unit=unit,
            context=float(context), interviewer=interviewer, cluster=cluster,
            documents=documents, model=model, precision=precision, save=save)
    finally:
        if owned:
            target.close()


def _check_int(name: str, where: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise parameter_error(name, where, f"an integer >= {minimum}", value)


def _eligible(segments: Sequence[Segment], include_interviewer: bool) -> list[int]:
    """Rows of the segments to group: what participants said (and unlabelled text in
    documents without participants, such as survey answers); the interviewer's turns too
    when asked. Unlabelled prompts in labelled documents (task headings) are context for
    the answers, never material of their own."""
    with_participants = {s.document_id for s in segments if s.role == "participant"}
    rows = []
    for i, s in enumerate(segments):
        if not s.text.strip():
            continue
        if (s.role == "participant"
                or (s.role is None and s.document_id not in with_participants)
                or (s.role == "interviewer" and include_interviewer)):
            rows.append(i)
    return rows


def _make_candidates(project: Project, *, min_size: int, n_candidates: int | None,
                     seed: int, unit: str | None, context: float, interviewer: str,
                     cluster: str, documents: Sequence[str] | None, model: str,
                     precision: str, save: bool) -> CandidateSet:
    from qualcode.coders import topics

    kind = unit or project.unit
    segments = list(project.segments(document=documents, kind=kind))
    rows = _eligible(segments, interviewer == "include")
    # The interviewer's own candidate (interviewer="separate"): never clustered.
    asides = ([i for i, s in enumerate(segments) if s.role == "interviewer" and s.text.strip()]
              if interviewer == "separate" else [])
    if not rows:
        if segments:
            raise ParameterError(
                f"{project.path} has no participant segments to find candidates in; pass "
                "interviewer='include' (--interviewer include) to use the interviewer's.")
        if len(project.documents) and kind != project.unit:
            raise ParameterError(
                f"{project.path} holds no {kind} segments: it was ingested by "
                f"{project.unit}. Use unit='{project.unit}', or ingest the transcripts "
                f"into a new project with --segment {kind}s.")
        raise ParameterError(
            f"{project.path} has no segments to find candidates in; ingest transcripts "
            "first.")
    document_ids = list(dict.fromkeys(segments[i].document_id for i in (*rows, *asides)))
    params: dict[str, Any] = {
        "min_size": min_size, "n_candidates": n_candidates, "seed": seed,
        "context": context, "interviewer": interviewer, "cluster": cluster, "model": model,
        "documents": list(documents) if documents is not None else None,
    }
    if precision != "float32":  # sets made before the option have no "precision"
        params["precision"] = precision
    wanted_documents = set(document_ids)
    attributes = {d.id: d.attributes for d in project.documents if d.id in wanted_documents}
    chosen = [segments[i] for i in (*rows, *asides)]
    texts = [s.text for s in chosen]
    message = ""
    vectors = None
    if topics.can_model(len(rows), min_size):
        vectors, grouped = _embed_context(project, segments, rows, context, model,
                                          precision)
        fitted = topics.TopicModel(n_topics=n_candidates, min_size=min_size, seed=seed,
                                   cluster=cluster).fit(texts[: len(rows)], grouped)
        import numpy as np

        groups = [
            (np.flatnonzero(fitted.labels_ == t).tolist(), [w for w, _ in fitted.keywords_[t]])
            for t in range(fitted.n_topics_)
        ]
        if asides:
            from qualcode.coders.embeddings import embed

            vectors = np.concatenate([vectors, embed(
                [segments[i].text for i in asides], model=model, cache=project,
                precision=precision)])
        method = "topics"
    else:
        method = "phrases"
        message = (
            f"Only {len(rows)} segments: too few for topic modelling (it needs at least "
            f"{max(topics.MIN_SEGMENTS, 2 * min_size)} with min_size={min_size}), so these "
            "candidates are noun phrases that two or more segments share.")
        phrases = topics.noun_phrases(texts[: len(rows)])
        groups = [(members, [phrase]) for phrase, members in topics.phrase_groups(phrases)]
        if not groups:
            message += " No noun phrase is shared by two segments: there are no candidates."
    sources = ["topics" if method == "topics" else "phrases"] * len(groups)
    if len(asides) >= (min_size if method == "topics" else 2):
        groups.append((list(range(len(rows), len(chosen))),
                       _interviewer_keywords(texts, len(rows), groups)))
        sources.append("interviewer")
    built = _describe_groups(chosen, texts, groups, vectors, attributes, source=sources)
    centres = None
    if vectors is not None:
        centres = {c.id: vectors[members].mean(axis=0)
                   for c, (members, _) in zip(built, groups, strict=True)}
        built = _with_themes(built, centres)
    unassigned = len(chosen) - sum(c.size for c in built)
    found = CandidateSet(
        candidates=tuple(built), project=str(project.path),
        fingerprint=_fingerprint(project, kind, params["documents"] or project.documents.ids),
        unit=kind, method=method, params=params, n_segments=len(chosen),
        n_documents=len(document_ids), unassigned=unassigned, message=message,
        codebook_version=_current_version(project),
    )
    found = _with_coverage(project, found, model=model if method == "topics" else None,
                           centres=centres, precision=precision)
    if save:
        found.save(candidates_path(project))
    return found


def _interviewer_keywords(texts: Sequence[str], first: int,
                          groups: Sequence[tuple[list[int], list[str]]]) -> list[str]:
    """c-TF-IDF keywords of the interviewer's segments (``texts[first:]``) against the
    participants' candidates."""
    from qualcode.coders import topics

    own = [topics.keyword_text(t) for t in texts[first:]]
    others = [[topics.keyword_text(texts[i]) for i in members] for members, _ in groups]
    try:
        return [w for w, _ in topics.ctfidf_keywords([own, *others])[0]]
    except DependencyError:  # no BERTopic (a corpus too small to model): a label only
        return []


def _with_themes(built: Sequence[Candidate], centres: Mapping[str, np.ndarray]
                 ) -> list[Candidate]:
    """Group candidates close in meaning into themes (average-linkage clustering of their
    centres into half as many groups); a candidate alone in its group has none.

    Themes are suggestions for axial coding: merge the candidates of a theme, or accept
    them as codes under one theme code. On the swj2022 study, matching human codes to the
    candidates *and* their themes recovers about half of the codes, against about a third
    for the candidates alone (see ``benchmarks/bench_opencoding.py``)."""
    if len(built) < 4:
        return list(built)
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    matrix = np.stack([centres[c.id] for c in built])
    matrix = matrix / np.where((n := np.linalg.norm(matrix, axis=1, keepdims=True)) == 0, 1, n)
    labels = AgglomerativeClustering(n_clusters=max(2, len(built) // 2),
                                     linkage="average", metric="cosine").fit(matrix).labels_
    sizes = Counter(labels.tolist())
    # Number themes by their first (largest) candidate, so t01 comes before t02.
    order = list(dict.fromkeys(int(label) for label in labels if sizes[int(label)] > 1))
    names = {label: f"t{k + 1:02d}" for k, label in enumerate(order)}
    return [replace(c, theme=names.get(int(label))) for c, label in zip(built, labels,
                                                                     strict=True)]


def _current_version(project: Project) -> int | None:
    versions = project.codebook_versions()
    return versions[-1]["version"] if versions else None


def _embed_context(project: Project, segments: Sequence[Segment], rows: Sequence[int],
                   context: float, model: str, precision: str = "float32"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of the chosen segments alone, and with their context (see
    :func:`qualcode.coders.topics.context_vectors`)."""
    from qualcode.coders import topics
    from qualcode.coders.embeddings import embed

    if context == 0:
        own = embed([segments[i].text for i in rows], model=model, cache=project,
                    precision=precision)
        return own, own
    question, previous, following = topics.find_context(segments)
    needed = sorted({*rows, *(question[i] for i in rows if question[i] is not None),
                     *(previous[i] for i in rows if previous[i] is not None),
                     *(following[i] for i in rows if following[i] is not None)})
    position = {row: k for k, row in enumerate(needed)}
    vectors = embed([segments[i].text for i in needed], model=model, cache=project,
                    precision=precision)

    def local(links: Sequence[int | None]) -> list[int | None]:
        # Only the chosen rows' links matter; a question's own links are not needed.
        return [position.get(links[i]) if links[i] is not None else None for i in needed]

    combined = topics.context_vectors(vectors, local(question), local(previous),
                                      local(following), context)
    take = [position[i] for i in rows]
    return vectors[take], combined[take]


def _describe_groups(segments: Sequence[Segment], texts: Sequence[str],
                     groups: Sequence[tuple[list[int], list[str]]], vectors: np.ndarray | None,
                     attributes: Mapping[str, Mapping[str, str]], *,
                     source: str | Sequence[str], first_id: int = 1,
                     others: Sequence[Sequence[str]] = ()) -> list[Candidate]:
    """Candidates for groups of rows: scores, quotes, noun phrases and a label each.
    ``source`` is every candidate's source, or one per group."""
    import numpy as np

    from qualcode.coders import topics

    described = []
    central_rows: list[list[int]] = []
    for members, _ in groups:
        if vectors is not None and members:
            member_vectors = vectors[members]
            centre = member_vectors.mean(axis=0)
            norm = float(np.linalg.norm(centre)) or 1.0
            scores = np.clip(member_vectors @ (centre / norm), 0.0, 1.0).tolist()
            picked = topics.representatives(
                member_vectors, [segments[i].document_id for i in members],
                [texts[i] for i in members], k=_QUOTES)
            quotes = [(members[j], sim) for j, sim in picked]
            order = np.argsort(-np.asarray(scores), kind="stable")[:_PHRASE_SAMPLE]
            central = [members[j] for j in order.tolist()]
        else:
            scores = [1.0] * len(members)
            quotes = [(i, None) for i in _spread_rows(members, segments)[:_QUOTES]]
            central = members[:_PHRASE_SAMPLE]
        described.append((scores, quotes))
        central_rows.append(central)
    # One tagging pass over every candidate's central segments.
    flat = [i for rows in central_rows for i in rows]
    try:
        tagged = topics.noun_phrases([topics.strip_annotations(texts[i]) for i in flat])
    except DependencyError:
        tagged = [[] for _ in flat]  # no spaCy: labels come from keywords alone
    phrases_of = dict(zip(flat, tagged, strict=True))
    out = []
    labels_used: Counter[str] = Counter()
    for k, ((members, keywords), (scores, quotes), central) in enumerate(
            zip(groups, described, central_rows, strict=True)):
        counted = Counter(p for i in central for p in set(phrases_of[i]))
        phrases = [p for p, n in counted.most_common(8) if n >= 2 or len(members) < 4]
        label = topics.readable_label(keywords, [p for i in central for p in phrases_of[i]])
        kind = source if isinstance(source, str) else source[k]
        if kind == "interviewer":
            label = f"Interviewer's turns: {label[:1].lower()}{label[1:]}"
        labels_used[label] += 1
        if labels_used[label] > 1:  # two candidates, one label: tell them apart
            extra = next((w for w in keywords if w.lower() not in label.lower()), None)
            label = f"{label} ({extra})" if extra else f"{label} {labels_used[label]}"
        out.append(Candidate(
            id=f"c{first_id + k:02d}", label=label,
            segments=tuple(segments[i].key for i in members),
            scores=tuple(round(float(x), 4) for x in scores),
            keywords=tuple(keywords[:10]), phrases=tuple(phrases),
            quotes=tuple(_quote(segments[i], attributes, sim) for i, sim in quotes),
            source=kind,
        ))
    return out


def _spread_rows(members: Sequence[int], segments: Sequence[Segment]) -> list[int]:
    """Members ordered so that successive ones come from different documents first."""
    seen: set[str] = set()
    first, rest = [], []
    for i in members:
        (rest if segments[i].document_id in seen else first).append(i)
        seen.add(segments[i].document_id)
    return first + rest


def _quote(segment: Segment, attributes: Mapping[str, Mapping[str, str]],
           similarity: float | None) -> Quote:
    attrs = attributes.get(segment.document_id, {})
    speaker = segment.speaker if segment.role == "participant" or not attrs.get(
        "participant") else None
    speaker = speaker or attrs.get("participant") or attrs.get("speaker")
    return Quote(segment.document_id, segment.start, segment.end, segment.text,
                 speaker=speaker, setting=attrs.get("setting") or attrs.get("site"),
                 similarity=None if similarity is None else round(float(similarity), 4))


# -- coverage by an existing codebook --------------------------------------------------
def _with_coverage(project: Project, found: CandidateSet, *, model: str | None,
                   centres: Mapping[str, np.ndarray] | None,
                   precision: str = "float32") -> CandidateSet:
    """Fill the coverage fields when the project has a codebook with codes."""
    codebook = project.codebook
    if codebook is None or not codebook.leaves() or not found.candidates:
        return found
    from qualcode.coders.base import segment_labels

    leaves = [c.id for c in codebook.leaves()]
    accepted = [c for c in project.codings(status="accepted") if c.code_id in set(leaves)]
    coverage: dict[str, tuple[float, str | None]] = {}
    if accepted:
        for c in found.candidates:
            members = [Segment(d, s, e, "x" * (e - s)) for d, s, e in c.segments]
            labels = segment_labels(members, accepted)
            covered = sum(1 for ls in labels if ls)
            common = Counter(code for ls in labels for code in ls).most_common(1)
            coverage[c.id] = (covered / max(c.size, 1), common[0][0] if common else None)
    nearest = (_nearest_codes(project, codebook, leaves, model, centres, precision)
               if model and centres else {})
    updated = []
    for c in found.candidates:
        share, by = coverage.get(c.id, (None, None))
        code, sim = nearest.get(c.id, (None, None))
        signals = [share is not None and share >= COVERED_SHARE,
                   sim is not None and sim >= COVERED_SIMILARITY]
        known = share is not None or sim is not None
        updated.append(replace(
            c, coverage=None if share is None else round(share, 4), covered_by=by,
            nearest_code=code, similarity=None if sim is None else round(sim, 4),
            uncovered=(not any(signals)) if known else None))
    return replace(found, candidates=tuple(updated))


def _nearest_codes(project: Project, codebook: Codebook, leaves: Sequence[str], model: str,
                   centres: Mapping[str, np.ndarray], precision: str = "float32"
                   ) -> dict[str, tuple[str, float]]:
    """For each candidate (by the centre of its segments' vectors), the code whose texts
    (name, definition, inclusion criteria, examples) are most similar, and how similar."""
    import numpy as np

    from qualcode.coders.embeddings import embed
    from qualcode.coders.semantic import code_texts

    rows, _ = code_texts(codebook, leaves, ("name", "definition", "include", "examples"))
    if not rows:
        return {}
    code_vectors = embed([text for _, _, text in rows], model=model, cache=project,
                         precision=precision)
    out = {}
    for candidate_id, centre in centres.items():
        centre = centre / (float(np.linalg.norm(centre)) or 1.0)
        best: dict[str, float] = {}
        for (code, _, _), sim in zip(rows, (code_vectors @ centre).tolist(), strict=True):
            best[code] = max(best.get(code, -1.0), sim)
        code = max(best, key=lambda k: (best[k], k))
        out[candidate_id] = (code, float(best[code]))
    return out


def _segment_texts(project: Project, keys: Iterable[tuple[str, int, int]]
                   ) -> dict[tuple[str, int, int], str]:
    keys = list(keys)
    documents = {d for d, _, _ in keys}
    texts = {d: project.documents[d].text for d in documents}
    return {(d, s, e): texts[d][s:e] for d, s, e in keys}


# -- working with candidates ----------------------------------------------------------
class _Step:
    """One step on a project's candidate set: open the project, load the set, act, store
    a codebook version with a note, save the set."""

    def __init__(self, project: Project | PathArg, found: CandidateSet | None,
                 name: str) -> None:
        from qualcode.api import open_project

        self.owned = not hasattr(project, "path")
        self.project = open_project(project)
        self.name = name
        try:
            if found is None:
                found = load_candidates(self.project)
            else:
                _check_fingerprint(self.project, found)
                _check_not_stale(self.project, found)
        except BaseException:
            self.close()
            raise
        self.found = found
        current = self.project.codebook  # an empty codebook is falsy: test for None
        self.codebook = current if current is not None else Codebook("open coding", version=0)

    def close(self) -> None:
        if self.owned:
            self.project.close()

    def record(self, candidates: Sequence[Candidate], ids: Sequence[str], note: str,
               codings: Sequence[Coding] = (), memos: Sequence[tuple[str, str]] = (),
               save: bool = True) -> CandidateSet:
        version = self.project.set_codebook(self.codebook, note=f"open coding: {note}")
        if codings:
            self.project.add_codings(codings)
        for code_id, text in memos:
            self.project.add_memo(text, code=code_id, author=OPEN_CODER)
        entry = {"step": self.name, "ids": list(ids), "note": note,
                 "codebook_version": version, "at": now_iso()}
        found = replace(self.found, candidates=tuple(candidates),
                        history=(*self.found.history, entry))
        if save:
            found.save(candidates_path(self.project))
        return found


def _check_not_stale(project: Project, found: CandidateSet) -> None:
    """Refuse a set that steps were taken on since, or one an ``open-code`` run replaced:
    acting on it would accept a candidate twice or overwrite the newer saved set."""
    try:
        saved = CandidateSet.load(candidates_path(project))
    except (FileNotFoundError, ProjectError):
        return
    if saved.created == found.created and len(saved.history) > len(found.history):
        raise ProjectError(
            f"This candidate set is out of date: {len(saved.history) - len(found.history)} "
            f"step(s) were taken on it since (the last: {saved.history[-1].get('note')}). "
            "Use the set the last step returned, or load_candidates(project).")
    if saved.created > found.created:
        raise ProjectError(
            f"This candidate set ({found.created}) is older than the one saved for "
            f"{project.path} ({saved.created}); its candidate ids name other candidates "
            "now. Use load_candidates(project), or run candidates() again.")


def _check_new_name(codebook: Codebook, name: str, own: Iterable[str | None] = ()) -> None:
    """Refuse a code name that another code already has as its name or id: looking codes
    up by name (review, recode) would then find the other one."""
    folded = name.strip().casefold()
    mine = set(own)
    for code in codebook:
        if code.id not in mine and folded in (code.name.strip().casefold(), code.id.casefold()):
            raise ParameterError(
                f"The codebook already has a code named '{code.name}' (id '{code.id}'). "
                "Choose another name (name= or --name), or code the segments with that code.")


def _ids(ids: str | Sequence[str], where: str, minimum: int = 1) -> list[str]:
    wanted = [ids] if isinstance(ids, str) else list(ids)
    if len(wanted) < minimum or len(set(wanted)) != len(wanted):
        raise parameter_error("ids", where, f"at least {minimum} different candidate ids",
                              wanted)
    return wanted


def _replace_candidates(found: CandidateSet, changed: Mapping[str, Candidate],
                        added: Sequence[Candidate] = ()) -> list[Candidate]:
    return [changed.get(c.id, c) for c in found.candidates] + list(added)


def _unique_code_id(codebook: Codebook, name: str) -> str:
    base = slugify(name)
    code_id, n = base, 2
    while code_id in codebook:
        code_id, n = f"{base}_{n}", n + 1
    return code_id


def _reason(candidate: Candidate, found: CandidateSet) -> str:
    keywords = ", ".join(candidate.keywords[:4])
    detail = f" (keywords: {keywords})" if keywords else ""
    return (f"open coding: in candidate {candidate.id} '{candidate.label}'{detail}; "
            f"candidate set of {found.created}, seed {found.params.get('seed')}")


def _suggestions(candidate: Candidate, code_id: str, found: CandidateSet,
                 keys: Iterable[tuple[str, int, int]] | None = None) -> list[Coding]:
    wanted = None if keys is None else set(keys)
    reason = _reason(candidate, found)
    return [
        Coding(d, s, e, code_id, coder=OPEN_CODER, method=OPEN_CODER,
               confidence=round(min(max(score, 0.0), 1.0), 4), status="suggested",
               reason=reason)
        for (d, s, e), score in zip(candidate.segments, candidate._scores(), strict=True)
        if wanted is None or (d, s, e) in wanted
    ]


def _withdraw(project: Project, code_id: str, keys: Iterable[tuple[str, int, int]] | None,
              by: str | None) -> int:
    """Reject open coding's still-suggested codings of ``code_id`` (on ``keys`` only, when
    given); a person's decisions are left alone. Returns how many were rejected."""
    wanted = None if keys is None else set(keys)
    ids = [c.id for c in project.codings(code=code_id, coder=OPEN_CODER, status="suggested")
           if wanted is None or (c.document_id, c.start, c.end) in wanted]
    return project.set_status(ids, "rejected", by=by or OPEN_CODER) if ids else 0


def _code_for(candidate: Candidate, code_id: str, name: str, parent: str | None) -> Code:
    return Code(code_id, name=name, parent=parent,
                examples=tuple(q.text for q in candidate.quotes),
                keywords=tuple(candidate.keywords[:8]))


def _memo(candidate: Candidate, found: CandidateSet, code_id: str) -> str:
    text = (f"Code '{code_id}' came from open-coding candidate {candidate.id} "
            f"'{candidate.label}': {candidate.size} {found.unit} segments in "
            f"{candidate.documents} of {found.n_documents} documents")
    if candidate.keywords:
        text += f"; keywords {', '.join(candidate.keywords[:8])}"
    if candidate.parents:
        text += f"; made from candidates {', '.join(candidate.parents)}"
    return text + (f". Candidate set of {found.created}, seed {found.params.get('seed')}; "
                   "its segments were suggested as codings (method open-coding).")


def accept_candidates(
    project: Project | PathArg,
    ids: str | Sequence[str],
    *,
    name: str | None = None,
    parent: str | None = None,
    candidates: CandidateSet | None = None,
    save: bool = True,
) -> CandidateSet:
    """Make candidates codes, in one new codebook version.

    Each candidate becomes a code named ``name`` (one candidate only) or its label, with
    id derived from the name, under ``parent`` (an existing code or theme, optional); its
    quotes become the code's examples and its keywords the code's keywords. Its segments
    become ``suggested`` codings (coder and method ``open-coding``, confidence = how
    typical the segment is, a reason naming the candidate), and a memo on the code records
    where it came from. ``candidates`` is the set to use (default: the project's saved
    set). Returns the updated set.
    """
    wanted = _ids(ids, "accept_candidates()")
    if name is not None and len(wanted) > 1:
        raise ParameterError(
            "A name can be given when accepting one candidate; to make several candidates "
            "one code, merge them (merge_candidates, `qualcode candidates merge`).")
    step = _Step(project, candidates, "accept")
    try:
        found = step.found
        if parent is not None:
            step.codebook.get(parent)  # NotFoundError naming close matches
        changed, codings, memos, notes = {}, [], [], []
        for candidate_id in wanted:
            candidate = found[candidate_id]
            if candidate.status not in ("open", "discarded"):
                raise ParameterError(_not_open(candidate))
            label = (name or candidate.label).strip()
            if not label:
                raise ParameterError("A code name cannot be empty.")
            _check_new_name(step.codebook, label)
            code_id = _unique_code_id(step.codebook, label)
            step.codebook = step.codebook.with_code(_code_for(candidate, code_id, label,
                                                              parent))
            accepted = replace(candidate, status="accepted", code=code_id, label=label)
            changed[candidate_id] = accepted
            codings += _suggestions(accepted, code_id, found)
            memos.append((code_id, _memo(accepted, found, code_id)))
            notes.append(f"{candidate_id} '{label}' as code {code_id} "
                         f"({candidate.size} suggested codings)")
        return step.record(_replace_candidates(found, changed), wanted,
                           "accepted " + "; ".join(notes), codings, memos, save=save)
    finally:
        step.close()


def _not_open(candidate: Candidate) -> str:
    if candidate.status == "accepted":
        return f"Candidate {candidate.id} is already accepted as code '{candidate.code}'."
    if candidate.replaced_by:
        return (f"Candidate {candidate.id} was {candidate.status} into "
                f"{', '.join(candidate.replaced_by)}; use those.")
    return f"Candidate {candidate.id} is {candidate.status}."


def rename_candidate(
    project: Project | PathArg,
    candidate_id: str,
    name: str,
    *,
    candidates: CandidateSet | None = None,
    save: bool = True,
) -> CandidateSet:
    """Give a candidate a new label; an accepted candidate's code is renamed too (its id,
    which codings refer to, stays). Returns the updated set."""
    if not isinstance(name, str) or not name.strip():
        raise parameter_error("name", "rename_candidate()", "a non-empty string", name)
    name = name.strip()
    step = _Step(project, candidates, "rename")
    try:
        candidate = step.found[candidate_id]
        if not candidate.active:
            raise ParameterError(_not_open(candidate))
        old = candidate.label
        if candidate.code is not None and candidate.code in step.codebook:
            _check_new_name(step.codebook, name, own=[candidate.code])
            step.codebook = step.codebook.renamed(candidate.code, name)
            note = f"renamed {candidate_id} '{old}' to '{name}' (code {candidate.code})"
        else:
            note = f"renamed candidate {candidate_id} '{old}' to '{name}'"
        changed = {candidate_id: replace(candidate, label=name)}
        return step.record(_replace_candidates(step.found, changed), [candidate_id], note,
                           save=save)
    finally:
        step.close()


def discard_candidates(
    project: Project | PathArg,
    ids: str | Sequence[str],
    *,
    candidates: CandidateSet | None = None,
    by: str | None = None,
    save: bool = True,
) -> CandidateSet:
    """Set candidates aside. An accepted one's code leaves the codebook and its
    still-suggested codings are rejected (``by`` is recorded as who decided); codings a
    person already accepted are kept. Returns the updated set."""
    wanted = _ids(ids, "discard_candidates()")
    step = _Step(project, candidates, "discard")
    try:
        changed, notes = {}, []
        for candidate_id in wanted:
            candidate = step.found[candidate_id]
            if not candidate.active:
                raise ParameterError(_not_open(candidate))
            if candidate.status == "accepted" and candidate.code in step.codebook:
                step.codebook = step.codebook.without_code(candidate.code)
                rejected = _withdraw(step.project, candidate.code, None, by)
                kept = len(step.project.codings(code=candidate.code, status="accepted"))
                extra = f"; {kept} accepted codings kept" if kept else ""
                notes.append(f"{candidate_id} '{candidate.label}' (code {candidate.code} "
                             f"removed, {rejected} suggested codings rejected{extra})")
            else:
                notes.append(f"{candidate_id} '{candidate.label}'")
            changed[candidate_id] = replace(candidate, status="discarded", code=None)
        return step.record(_replace_candidates(step.found, changed), wanted,
                           "discarded " + "; ".join(notes), save=save)
    finally:
        step.close()


def merge_candidates(
    project: Project | PathArg,
    ids: Sequence[str],
    *,
    name: str | None = None,
    candidates: CandidateSet | None = None,
    by: str | None = None,
    save: bool = True,
) -> CandidateSet:
    """Join two or more candidates into a new one (next free id) with their segments,
    fresh keywords and quotes, labelled ``name`` or the largest one's label.

    When any of them was accepted, the new candidate is accepted too, as the first
    accepted one's code: the other merged codes leave the codebook, their suggested
    codings are rejected and their accepted codings recoded (by ``by``), and every
    segment of the new candidate is suggested for the kept code. Returns the updated set.
    """
    wanted = _ids(ids, "merge_candidates()", minimum=2)
    step = _Step(project, candidates, "merge")
    try:
        found = step.found
        parts = [found[i] for i in wanted]
        for part in parts:
            if not part.active:
                raise ParameterError(_not_open(part))
        segments: dict[tuple[str, int, int], float] = {}
        for part in parts:
            for key, score in zip(part.segments, part._scores(), strict=True):
                segments[key] = max(score, segments.get(key, 0.0))
        keys = sorted(segments)
        largest = max(parts, key=lambda p: (p.size, -_id_key(p.id)[0]))
        label = (name or largest.label).strip()
        merged = _redescribe(step.project, found, [keys], exclude=wanted, labels=[label],
                             parents=tuple(wanted), source="merge",
                             scores=[[segments[k] for k in keys]])[0]
        shared_theme = {p.theme for p in parts}
        if len(shared_theme) == 1:
            merged = replace(merged, theme=shared_theme.pop())
        accepted = [p for p in parts if p.status == "accepted" and p.code in step.codebook]
        codings: list[Coding] = []
        memos: list[tuple[str, str]] = []
        if accepted:
            kept = accepted[0].code
            assert kept is not None
            _check_new_name(step.codebook, label, own=[p.code for p in accepted])
            old = step.codebook.get(kept)
            step.codebook = step.codebook.with_code(replace(
                old, name=label, examples=tuple(q.text for q in merged.quotes),
                keywords=tuple(merged.keywords[:8])))
            for other in accepted[1:]:
                assert other.code is not None
                step.codebook = step.codebook.without_code(other.code)
                _withdraw(step.project, other.code, None, by)
                for coding in step.project.codings(code=other.code, status="accepted"):
                    assert coding.id is not None
                    step.project.recode(coding.id, kept, by=by or OPEN_CODER)
            merged = replace(merged, status="accepted", code=kept)
            codings = _suggestions(merged, kept, found)
            memos = [(kept, f"Code '{kept}' now also holds candidates "
                            f"{', '.join(p.id for p in parts if p is not accepted[0])} "
                            f"(merged as {merged.id} '{label}').")]
            removed = [p.code for p in accepted[1:] if p.code]
            note = (f"merged {', '.join(wanted)} into {merged.id} '{label}' (kept code {kept}"
                    + (f"; removed {', '.join(removed)}" if removed else "") + ")")
        else:
            note = f"merged candidates {', '.join(wanted)} into {merged.id} '{label}'"
        changed = {p.id: replace(p, status="merged", code=None, replaced_by=(merged.id,))
                   for p in parts}
        return step.record(_replace_candidates(found, changed, [merged]), wanted, note,
                           codings, memos, save=save)
    finally:
        step.close()


def split_candidate(
    project: Project | PathArg,
    candidate_id: str,
    *,
    parts: int = 2,
    seed: int | None = None,
    candidates: CandidateSet | None = None,
    by: str | None = None,
    save: bool = True,
) -> CandidateSet:
    """Split a candidate into ``parts`` new candidates (k-means on its segments' cached
    embeddings, seeded by ``seed`` or the set's seed), each with its own keywords, label
    and quotes.

    An accepted candidate's code keeps the largest part; the other parts become new codes
    beside it, and the suggestions of segments that moved follow them (suggested codings
    rejected and suggested again for the new code; a person's accepted codings stay).
    Returns the updated set.
    """
    _check_int("parts", "split_candidate()", parts, 2)
    step = _Step(project, candidates, "split")
    try:
        found = step.found
        candidate = found[candidate_id]
        if not candidate.active:
            raise ParameterError(_not_open(candidate))
        if candidate.size < 2 * parts:
            raise ParameterError(
                f"Candidate {candidate_id} has {candidate.size} segments: too few to split "
                f"into {parts} parts (at least {2 * parts} needed).")
        groups = _split_rows(step.project, found, candidate, parts,
                             found.params.get("seed", 0) if seed is None else seed)
        keys = [[candidate.segments[i] for i in rows] for rows in groups]
        scores = [[candidate._scores()[i] for i in rows] for rows in groups]
        new = [replace(part, theme=candidate.theme) for part in _redescribe(
            step.project, found, keys, exclude=[candidate_id], labels=None,
            parents=(candidate_id,), source="split", scores=scores)]
        codings: list[Coding] = []
        memos: list[tuple[str, str]] = []
        if candidate.status == "accepted" and candidate.code in step.codebook:
            code = step.codebook.get(candidate.code)
            first = replace(new[0], status="accepted", code=code.id, label=code.name)
            step.codebook = step.codebook.with_code(replace(
                code, examples=tuple(q.text for q in first.quotes),
                keywords=tuple(first.keywords[:8])))
            finished = [first]
            for part in new[1:]:
                code_id = _unique_code_id(step.codebook, part.label)
                step.codebook = step.codebook.with_code(
                    _code_for(part, code_id, part.label, code.parent))
                _withdraw(step.project, code.id, part.segments, by)
                codings += _suggestions(part, code_id, found)
                memos.append((code_id, _memo(part, found, code_id)))
                finished.append(replace(part, status="accepted", code=code_id))
            new = finished
            note = (f"split {candidate_id} (code {code.id}) into "
                    + ", ".join(f"{p.id} '{p.label}' (code {p.code})" for p in new))
        else:
            note = (f"split candidate {candidate_id} into "
                    + ", ".join(f"{p.id} '{p.label}'" for p in new))
        changed = {candidate_id: replace(candidate, status="split", code=None,
                                         replaced_by=tuple(p.id for p in new))}
        return step.record(_replace_candidates(found, changed, new), [candidate_id], note,
                           codings, memos, save=save)
    finally:
        step.close()


def _member_vectors(project: Project, found: CandidateSet,
                    keys: Sequence[tuple[str, int, int]]) -> np.ndarray | None:
    """Cached embeddings of these segments, or None for a phrase-based set (which may have
    been made without an embedding model)."""
    if found.method != "topics":
        return None
    from qualcode.coders.embeddings import embed

    texts = _segment_texts(project, keys)
    return embed([texts[k] for k in keys], model=found.params.get("model"), cache=project,
                 precision=found.params.get("precision", "float32"))


def _split_rows(project: Project, found: CandidateSet, candidate: Candidate, parts: int,
                seed: int) -> list[list[int]]:
    import numpy as np
    from sklearn.cluster import KMeans

    vectors = _member_vectors(project, found, candidate.segments)
    if vectors is None:  # no embeddings: TF-IDF of the words
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = _segment_texts(project, candidate.segments)
        vectors = TfidfVectorizer().fit_transform(
            [texts[k] for k in candidate.segments]).toarray()
    labels = KMeans(n_clusters=parts, random_state=seed, n_init=4).fit(vectors).labels_
    groups = [np.flatnonzero(labels == k).tolist() for k in range(parts)]
    groups = [g for g in groups if g]
    if len(groups) < 2:
        raise ParameterError(
            f"Candidate {candidate.id} cannot be split: its segments are all alike.")
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def _redescribe(project: Project, found: CandidateSet,
                keys: Sequence[Sequence[tuple[str, int, int]]], *, exclude: Sequence[str],
                labels: Sequence[str] | None, parents: tuple[str, ...], source: str,
                scores: Sequence[Sequence[float]]) -> list[Candidate]:
    """New candidates for groups of segments (merge, split): keywords by c-TF-IDF against
    the other active candidates, quotes and labels as for fresh ones."""
    from qualcode.coders import topics

    all_keys = [k for group in keys for k in group]
    others = [c for c in found.active if c.id not in set(exclude)]
    texts = _segment_texts(project, {*all_keys, *(k for c in others for k in c.segments)})
    groups_text = [[topics.keyword_text(texts[k]) for k in group] for group in keys]
    background = [[topics.keyword_text(texts[k]) for k in c.segments] for c in others]
    keywords = topics.ctfidf_keywords([*groups_text, *background])[: len(keys)]
    unique = list(dict.fromkeys(all_keys))
    row = {k: i for i, k in enumerate(unique)}
    segments = _segments_at(project, found.unit, unique)
    vectors = _member_vectors(project, found, unique)
    documents = {s.document_id for s in segments}
    attributes = {d.id: d.attributes for d in project.documents if d.id in documents}
    next_id = 1 + max((_id_key(c.id)[0] for c in found.candidates
                       if _id_key(c.id)[0] < 10**9), default=0)
    built = _describe_groups(
        segments, [s.text for s in segments],
        [([row[k] for k in group], [w for w, _ in kw])
         for group, kw in zip(keys, keywords, strict=True)],
        vectors, attributes, source=source, first_id=next_id)
    out = []
    for k, candidate in enumerate(built):
        out.append(replace(
            candidate, label=labels[k] if labels else candidate.label, parents=parents,
            scores=tuple(round(float(x), 4) for x in scores[k])))
    return out


def _segments_at(project: Project, unit: str, keys: Sequence[tuple[str, int, int]]
                 ) -> list[Segment]:
    """The project's segments at these keys (with their speakers), in the keys' order."""
    documents = list(dict.fromkeys(d for d, _, _ in keys))
    by_key = {s.key: s for s in project.segments(document=documents, kind=unit)}
    missing = [k for k in keys if k not in by_key]
    if missing:
        raise ProjectError(
            f"The candidate set names segments {project.path} does not hold (e.g. "
            f"{missing[0]}); run `qualcode open-code` again.")
    return [by_key[k] for k in keys]
