"""The Typer application every command module registers on, and shared output helpers.

Kept free of heavy imports: ``qualcode --help`` imports this and the command modules only.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(
    name="qualcode",
    help=(
        "Offline toolkit for qualitative research: ingest transcripts, code them, check "
        "agreement, judge saturation, export for papers. Nothing leaves your machine."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
codebook_app = typer.Typer(help="Validate, show and compare codebooks.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")

# Into a file or a pipe, a line stays whole (rich would cut it at 80 columns); in a
# terminal, rich wraps it at the terminal's width, between words.
console = Console(soft_wrap=not (sys.stdout is not None and sys.stdout.isatty()))
err_console = Console(stderr=True, soft_wrap=True)  # a path is never broken mid-line


def print_table(table: Any) -> None:
    """Print a rich table; into a file or a pipe at its natural width, so that no number is
    cut to fit 80 columns (a terminal gets its own width)."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(10_000), table).maximum
    # print(width=) cannot exceed the console's width, so a console as wide as the table.
    Console(soft_wrap=True, width=max(natural, console.width)).print(table)


def _default(value: Any) -> Any:
    """JSON for the values our results hold (numpy numbers, paths, sets)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on standard output (machine-readable; no rich markup)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default))
    sys.stdout.write("\n")
