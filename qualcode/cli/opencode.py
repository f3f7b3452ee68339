"""``qualcode open-code`` and ``qualcode candidates ...``: open coding from the command line.

``open-code`` finds candidate codes and keeps them beside the project
(``study.qualcode.candidates.json``); the ``candidates`` commands name them by id to
accept, rename, merge, split or discard them, each step storing a codebook version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualcode.cli._app import app, console, print_json

candidates_app = typer.Typer(
    help="Work with open-coding candidates: show, accept, rename, merge, split, discard.",
    no_args_is_help=True,
)
app.add_typer(candidates_app, name="candidates")

ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
IdsArg = Annotated[list[str], typer.Argument(help="Candidate ids (e.g. c03 c07).")]


@app.command("open-code")
def open_code(
    project: ProjectArg,
    out: Annotated[Path | None, typer.Option(
        help="Write the report here: candidates.md, candidates.csv, candidates.png/.svg.")
    ] = None,
    min_size: Annotated[int, typer.Option(
        help="The fewest segments a candidate may hold.")] = 10,
    candidates: Annotated[int | None, typer.Option(
        "--candidates", help="How many candidates to look for (default: about "
                             "sqrt(segments / 6)).")] = None,
    seed: Annotated[int, typer.Option(help="The same seed gives the same candidates.")] = 0,
    unit: Annotated[str | None, typer.Option(
        help="Segments to group: turn, paragraph or sentence (default: the project's).")
    ] = None,
    context: Annotated[float, typer.Option(
        help="Weight of a segment's question and neighbours when grouping (0: its words "
             "alone).")] = 1.0,
    interviewer: Annotated[str, typer.Option(
        help="The interviewer's segments: context (default: only context for the answers), "
             "separate (also one candidate of their own, e.g. a think-aloud moderator's "
             "interventions) or include (grouped with the participants').")] = "context",
    cluster: Annotated[str, typer.Option(
        help="ward (default), kmeans, hdbscan or umap-hdbscan.")] = "ward",
    precision: Annotated[str, typer.Option(
        help="Embedding precision: float32 (default) or int8 (ONNX Runtime, the onnx "
             "extra: faster on a large corpus; vectors a little different, cached "
             "apart).")] = "float32",
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", "--force", help="Replace report files already in --out.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Find candidate codes in a project: topics of its segments, with typical quotes.

    Each candidate has keywords, a label, its size and spread. They are kept for
    `qualcode candidates ...`.
    """
    from contextlib import nullcontext

    from qualcode.opencoding import candidates as find_candidates
    from qualcode.opencoding import candidates_path, report_paths

    if out is not None:  # before the work, and before the saved candidates are replaced
        report_paths(out, overwrite=overwrite)
    with nullcontext() if json_ else console.status("Finding candidate codes..."):
        found = find_candidates(
            project, min_size=min_size, n_candidates=candidates, seed=seed, unit=unit,
            context=context, interviewer=interviewer, cluster=cluster, precision=precision)
    written = found.write_report(out, overwrite=overwrite) if out is not None else {}
    if json_:
        print_json({**found.to_summary_dict(), "saved": str(candidates_path(project)),
                    "files": [str(p) for p in written.values()]})
        return
    _print_set(found)
    console.print(f"Saved for `qualcode candidates`: {candidates_path(project)}", soft_wrap=True)
    for path in written.values():
        console.print(f"Wrote {path}", soft_wrap=True)


@candidates_app.command("show")
def candidates_show(project: ProjectArg, json_: JsonOpt = False) -> None:
    """List the project's saved candidates (open and accepted) and what was done."""
    from qualcode.opencoding import load_candidates

    found = load_candidates(project)
    if json_:
        print_json({**found.to_summary_dict(), "history": [dict(h) for h in found.history]})
        return
    _print_set(found)
    for entry in found.history:
        console.print(f"v{entry['codebook_version']}: {entry['note']}", soft_wrap=True,
                      markup=False)


@candidates_app.command("accept")
def candidates_accept(
    project: ProjectArg,
    ids: IdsArg,
    name: Annotated[str | None, typer.Option(
        help="Name of the new code (when accepting one candidate).")] = None,
    parent: Annotated[str | None, typer.Option(
        help="An existing code or theme to put the new codes under.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Make candidates codes (a new codebook version).

    Their segments become suggested codings.
    """
    from qualcode.opencoding import accept_candidates

    _print_step(accept_candidates(project, ids, name=name, parent=parent), json_)


@candidates_app.command("rename")
def candidates_rename(
    project: ProjectArg,
    candidate: Annotated[str, typer.Argument(help="The candidate id (e.g. c03).")],
    name: Annotated[str, typer.Argument(help="Its new label (and code name).")],
    json_: JsonOpt = False,
) -> None:
    """Relabel a candidate; an accepted one's code is renamed too."""
    from qualcode.opencoding import rename_candidate

    _print_step(rename_candidate(project, candidate, name), json_)


@candidates_app.command("merge")
def candidates_merge(
    project: ProjectArg,
    ids: IdsArg,
    name: Annotated[str | None, typer.Option(help="Label of the merged candidate.")] = None,
    by: Annotated[str | None, typer.Option(help="Who decides (recorded on recodings).")
                  ] = None,
    json_: JsonOpt = False,
) -> None:
    """Join candidates into one (accepted ones into one code)."""
    from qualcode.opencoding import merge_candidates

    _print_step(merge_candidates(project, ids, name=name, by=by), json_)


@candidates_app.command("split")
def candidates_split(
    project: ProjectArg,
    candidate: Annotated[str, typer.Argument(help="The candidate id (e.g. c03).")],
    parts: Annotated[int, typer.Option(help="Into how many candidates.")] = 2,
    seed: Annotated[int | None, typer.Option(help="Seed (default: the set's).")] = None,
    by: Annotated[str | None, typer.Option(help="Who decides (recorded on rejections).")
                  ] = None,
    json_: JsonOpt = False,
) -> None:
    """Split a candidate into parts by meaning (an accepted one into codes)."""
    from qualcode.opencoding import split_candidate

    _print_step(split_candidate(project, candidate, parts=parts, seed=seed, by=by), json_)


@candidates_app.command("discard")
def candidates_discard(
    project: ProjectArg,
    ids: IdsArg,
    by: Annotated[str | None, typer.Option(help="Who decides (recorded on rejections).")
                  ] = None,
    json_: JsonOpt = False,
) -> None:
    """Set candidates aside (an accepted one's code leaves the codebook)."""
    from qualcode.opencoding import discard_candidates

    _print_step(discard_candidates(project, ids, by=by), json_)


def _print_step(found, json_: bool) -> None:
    step = found.history[-1]
    if json_:
        print_json({**dict(step), "candidates": found.to_summary_dict()["candidates"]})
        return
    console.print(f"Codebook version {step['codebook_version']}: {step['note']}",
                  soft_wrap=True, markup=False)


def _print_set(found) -> None:
    from rich.table import Table
    from rich.text import Text

    if found.message:
        console.print(found.message, style="yellow", markup=False)
    table = Table(title=Text(found.summary()), show_header=True, header_style="bold",
                  title_justify="left")
    for column, justify in (("id", "left"), ("label", "left"), ("status", "left"),
                            ("segments", "right"), ("docs", "right"),
                            ("keywords", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    for c in found.active:
        status = c.status + (f" ({c.code})" if c.code else "")
        if c.uncovered:
            status += ", not in codebook"
        # Text(), not markup: labels and keywords are the researcher's and the data's words.
        table.add_row(*(Text(x) for x in (c.id, c.label, status, str(c.size),
                                          str(c.documents), ", ".join(c.keywords[:5]))))
    console.print(table)
