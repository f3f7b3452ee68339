"""``qualcode saturation``: code saturation of a project or a table, with a report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualcode.cli._app import app, console, print_json


@app.command("saturation")
def saturation_command(
    source: Annotated[Path, typer.Argument(
        help="A project (.qualcode) or a table (CSV/XLSX): long (document, code) or wide "
             "(one row per interview, one 0/1 or count column per code).")],
    order: Annotated[str | None, typer.Option(
        help="Interview order: 'date', 'given', or a file with one document id per line. "
             "Default: by date when the data has dates, else as given.")] = None,
    base: Annotated[int, typer.Option(help="Guest et al. 2020: base size b.")] = 4,
    run: Annotated[int, typer.Option(help="Guest et al. 2020: run length r.")] = 2,
    threshold: Annotated[float, typer.Option(
        help="Guest et al. 2020: new-information threshold (0.05 = 5%; 0 is strict).")] = 0.05,
    initial: Annotated[int, typer.Option(
        help="Francis et al. 2010: initial analysis sample.")] = 10,
    criterion: Annotated[int, typer.Option(
        help="Francis et al. 2010: stopping criterion (interviews without a new code).")] = 3,
    target: Annotated[float, typer.Option(
        help="Lowe et al. 2018: saturation index to reach (0.95 = 95%).")] = 0.95,
    permutations: Annotated[int, typer.Option(
        help="Random interview orderings for the uncertainty band (0 to skip).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the random orderings.")] = 0,
    min_interviews: Annotated[int, typer.Option(
        help="Count only codes present in at least this many interviews.")] = 1,
    status: Annotated[str, typer.Option(
        help="Projects and long tables with a status column: which codings count "
             "('accepted', 'suggested', 'rejected' or 'all').")] = "accepted",
    coder: Annotated[str | None, typer.Option(help="Count only this coder's codings.")] = None,
    theme: Annotated[list[str] | None, typer.Option(
        help="Count only codes of this theme (repeat for several).")] = None,
    cases: Annotated[Path | None, typer.Option(
        help="A cases table (document, date) giving interview dates; its ids match "
             "document ids, file names (P01.docx) or another letter case (p01).")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the report here: saturation.png/.svg, CSVs, saturation.json, "
             "methods.md.")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", "--force", help="Replace report files already in --out.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Code saturation: new codes per interview and when the study stopped finding them.

    Guest 2020 'b+r', Francis 2010, Chao2, accumulation fits and the spread over random
    interview orders."""
    from contextlib import nullcontext

    from qualcode.analysis.saturation import saturation
    from qualcode.errors import ParameterError
    from qualcode.model import CODING_STATUSES

    if status not in (*CODING_STATUSES, "all"):  # named as the option takes them
        raise ParameterError(f"--status must be one of {', '.join(CODING_STATUSES)} or all; "
                             f"got {status!r}.")
    with nullcontext() if json_ else console.status("Measuring saturation..."):
        result = saturation(
            source, order=order, base=base, run=run, threshold=threshold, initial=initial,
            criterion=criterion, target=target, permutations=permutations, seed=seed,
            min_interviews=min_interviews, status=None if status == "all" else status,
            coder=coder, themes=theme or None, cases=cases,
        )
    written = result.write_report(out, overwrite=overwrite) if out is not None else {}
    if json_:
        print_json({**result.to_dict(), "files": [str(p) for p in written.values()]})
        return
    _print_summary(result, written)


def _print_summary(result, written: dict[str, Path]) -> None:
    from rich.table import Table

    table = Table(title=f"Code saturation ({result.n_interviews} interviews, "
                        f"{result.n_codes} codes)", show_header=True, header_style="bold")
    table.add_column("Measure")
    table.add_column("Result", overflow="fold")
    for measure, value in result.summary_rows():
        table.add_row(measure, value)
    console.print(table)
    for note in result.notes:
        console.print(f"[dim]Note: {note}[/]", highlight=False)
    console.print("[dim]This is code saturation; meaning saturation needs your judgement "
                  "(see methods.md).[/]")
    if written:
        console.print(f"Wrote {len(written)} files to {next(iter(written.values())).parent}: "
                      f"{', '.join(written)}", highlight=False)
