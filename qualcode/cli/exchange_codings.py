"""Commands for codings made by people and machines: import and export codings tables,
agreement between coders, and evaluation of a machine coder against a person."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from qualcode.cli._app import app, console, print_json, print_table
from qualcode.cli._groups import export_app, import_app

ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
UnitOpt = Annotated[
    str | None,
    typer.Option(help="Segment kind to use as the unit: turn, paragraph or sentence "
                      "(default: the project's)."),
]
_SHOWN = 20


class Level(str, Enum):
    code = "code"
    theme = "theme"


class Format(str, Enum):
    csv = "csv"
    json = "json"


class Status(str, Enum):
    accepted = "accepted"
    suggested = "suggested"
    rejected = "rejected"


def _number(value: float | None, *, pct: bool = False) -> str:
    if value is None:
        return "[dim]undefined[/]"
    return f"{value:.1%}" if pct else f"{value:.3f}"


@import_app.command("codings")
def import_codings_command(
    project: ProjectArg,
    table: Annotated[Path, typer.Argument(
        help="Codings table (.csv, .tsv, .xlsx) or a folder of them: columns document, "
             "code, and start/end or the excerpt text.")],
    coder: Annotated[str | None, typer.Option(
        help="Whose codings these are (default: the table's coder column).")] = None,
    status: Annotated[Status | None, typer.Option(
        help="Status to store them with (default: the table's status column, as `qualcode "
             "export codings` writes it, else accepted).")] = None,
    create_codes: Annotated[bool, typer.Option(
        "--create-codes", help="Add codes the codebook lacks instead of reporting them.")
    ] = False,
    report: Annotated[Path | None, typer.Option(
        help="Write what became of every row to this CSV file.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Import codings from a table, locating each excerpt in its transcript."""
    from qualcode import api
    from qualcode.codings_table import import_codings
    from qualcode.export._common import check_targets

    if report is not None:  # before importing: a bad --report must not leave half the work
        check_targets([report], overwrite=True, where="--report")
    with api.open_project(project) as opened:
        result = import_codings(opened, table, coder,
                                status=None if status is None else status.value,
                                create_codes=create_codes)
    if report is not None:
        result.to_frame().to_csv(report, index=False)
    if json_:
        print_json(result.to_dict())
        return
    console.print(result.summary(), highlight=False)
    problems = result.problems()
    if problems:
        from rich.table import Table

        shown = Table("row", "status", "document", "code", "reason", show_lines=False)
        for outcome in problems[:_SHOWN]:
            shown.add_row(outcome.where, outcome.status, outcome.document, outcome.code,
                          outcome.reason)
        console.print(shown)
        if len(problems) > _SHOWN:
            hint = f" (all rows are in {report})" if report else "; see them all with --report FILE"
            console.print(f"... and {len(problems) - _SHOWN} more{hint}.")


@app.command("agreement")
def agreement_command(
    project: ProjectArg,
    coder: Annotated[list[str], typer.Option(
        "--coder", help="A coder name; give two or more (--coder A --coder B).")],
    level: Annotated[Level, typer.Option(help="Compare codes, or themes.")] = Level.code,
    unit: UnitOpt = None,
    documents: Annotated[str | None, typer.Option(
        help="Document ids or glob patterns, comma-separated (default: all).")] = None,
    json_: JsonOpt = False,
) -> None:
    """Agreement between coders: percent agreement, Cohen's kappa, Krippendorff's alpha."""
    from qualcode import api
    from qualcode.analysis.agreement import agreement

    with api.open_project(project) as opened:
        result = agreement(opened, coder, level=level.value, unit=unit, documents=documents)
    if json_:
        print_json(result.to_dict())
        return
    from rich.table import Table

    notes = any(c.note for c in result.codes)
    table = Table(title=f"Agreement ({result.kappa_name})")
    # Numbers stay whole at any width (a file or pipe is 80 columns); long names fold.
    table.add_column(result.level, overflow="fold")
    for header in ("units", *result.coders, "agreement", "kappa", "alpha"):
        table.add_column(header, justify="right", no_wrap=True)
    if notes:
        table.add_column("note", overflow="fold")
    for c in result.codes:
        table.add_row(c.code, str(c.units), *[str(c.present.get(k, 0)) for k in result.coders],
                      _number(c.percent_agreement, pct=True), _number(c.kappa),
                      _number(c.alpha), *([c.note] if notes else []))
    print_table(table)
    console.print(result.summary(), highlight=False)


@app.command("evaluate")
def evaluate_command(
    project: ProjectArg,
    reference: Annotated[str, typer.Option(help="The coder whose codings are the truth.")],
    train: Annotated[str, typer.Option(
        help="Training documents: ids or glob patterns, comma-separated.")],
    test: Annotated[str, typer.Option(
        help="Test documents: ids or glob patterns, comma-separated.")],
    method: Annotated[str, typer.Option(
        help="The machine coder: supervised, semantic, rules or auto.")] = "supervised",
    level: Annotated[Level, typer.Option(help="Score codes, or themes.")] = Level.code,
    unit: UnitOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Train a coder on some documents, test it on others: precision, recall, F1, kappa.

    Per code and their macro averages, against the reference coder's codings.
    """
    from qualcode import api
    from qualcode.analysis.evaluation import evaluate

    with api.open_project(project) as opened, console.status("Training and testing..."):
        result = evaluate(opened, reference, train, test, coder=method, level=level.value,
                          unit=unit)
    if json_:
        print_json(result.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"{result.coder} vs {result.reference}")
    table.add_column(result.level, overflow="fold")
    for header in ("support", "predicted", "precision", "recall", "F1", "kappa"):
        table.add_column(header, justify="right", no_wrap=True)
    for c in result.codes:
        table.add_row(c.code, str(c.support), str(c.predicted), _number(c.precision),
                      _number(c.recall), _number(c.f1), _number(c.kappa))
    print_table(table)
    console.print(result.summary(), highlight=False)


@export_app.command("codings")
def export_codings_command(
    project: ProjectArg,
    format: Annotated[Format, typer.Option("--format", help="csv or json.")] = Format.csv,
    out: Annotated[Path | None, typer.Option(
        help="File to write (default: standard output).")] = None,
    coder: Annotated[list[str] | None, typer.Option(help="Only these coders.")] = None,
    status: Annotated[list[Status] | None, typer.Option(help="Only these statuses.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
) -> None:
    """Write codings as a CSV or JSON table (standard output without --out).

    Columns: document, start, end, speaker, code, theme, confidence, status, coder,
    method, text.
    """
    import sys

    from qualcode import api
    from qualcode.codings_table import export_codings
    from qualcode.export._common import check_targets

    if out is not None:
        check_targets([out], overwrite=force, where="Exporting codings")
    with api.open_project(project) as opened:
        written = export_codings(opened, out, format=format.value, coder=coder or None,
                                 status=[s.value for s in status] if status else None)
    if out is None:
        sys.stdout.write(str(written))
    else:
        console.print(f"Wrote {written}.")
