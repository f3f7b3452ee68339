"""Command groups shared by several command modules: ``qualcode import ...`` and
``qualcode export ...``.

Each exchange module adds its own subcommands (``import codings``, ``import qdpx``,
``export codings``, ``export qdpx``) to these groups, so one group never has two owners.
"""

from __future__ import annotations

import typer

from qualcode.cli._app import app

__all__ = ["export_app", "import_app"]

import_app = typer.Typer(
    help="Bring work done elsewhere into a project (codings tables, REFI-QDA projects).",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Write a project's work for other tools and for papers.",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
