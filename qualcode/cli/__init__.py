"""The ``qualcode`` command line: a thin shell over the library.

Each module in this package registers its commands on :data:`qualcode.cli._app.app`; every
command parses its arguments, calls one library function, and prints the result (or JSON
with ``--json``). :func:`main` turns qualcode's errors into a one-line message and an exit
code (see :data:`qualcode.errors.EXIT_CODES`); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import NoReturn

from qualcode.cli._app import app, err_console

# Importing a command module registers its commands; this order is the order of --help.
COMMAND_MODULES = (
    "project",
    "manual",
    "search",
    "opencode",
    "coding",
    "exchange_codings",
    "saturation",
    "exports",
    "exchange",
    "privacy",
)
for _module in COMMAND_MODULES:
    importlib.import_module(f"qualcode.cli.{_module}")

__all__ = ["app", "main"]


def _error(label: str, message: str) -> None:
    from rich.text import Text

    # Messages quote user text (e.g. "[00:03:12] Dave:"), so no markup in them.
    err_console.print(Text.assemble((label, "bold red"), " ", message))


def _parser_exception_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """Usage-error and abort classes of the parser: Typer 0.29 bundles its own copy of click,
    and a user's environment may also have click itself, so look in both."""
    import importlib

    import typer

    usage: list[type] = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            usage.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    aborts: list[type] = [typer.Abort]
    try:
        import click

        aborts.append(click.exceptions.Abort)
    except ImportError:
        pass
    return tuple(usage), tuple(aborts)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``qualcode`` console script."""
    from qualcode.errors import QualcodeError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        # Outside standalone mode Typer turns Ctrl-C into a returned 130 (and typer.Exit
        # into its code) instead of raising: a shell must see that exit code, not 0.
        returned = app(args=args, standalone_mode=False)
    except QualcodeError as exc:
        if debug:
            raise
        _error("Error:", str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _interrupted()
    except SystemExit:
        raise
    except OSError as exc:  # a folder not writable, a full disk: the user's to fix, not a bug
        if debug:
            raise
        _error("Error:", _os_error_message(exc))
        sys.exit(2)
    except Exception as exc:  # usage errors from the argument parser come through here too
        usage_errors, aborts = _parser_exception_types()
        if isinstance(exc, usage_errors):
            exc.show()
            sys.exit(2)
        if isinstance(exc, aborts):
            sys.exit(130)
        if debug:
            raise
        _error(
            "Internal error:",
            f"{type(exc).__name__}: {exc}\nThis is a bug in qualcode. Run again with "
            "--debug and report the traceback.",
        )
        sys.exit(70)
    if returned == 130:
        _interrupted()
    if isinstance(returned, int) and not isinstance(returned, bool) and returned:
        sys.exit(returned)


def _interrupted() -> NoReturn:
    err_console.print("Interrupted; work committed so far is kept in the project.")
    sys.exit(130)


def _os_error_message(exc: OSError) -> str:
    """A file-system error as one sentence naming the file (for the temporary file an
    export writes beside its target, the folder)."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return f"{reason}. Check the paths you gave, and that you may write there."
    path = Path(exc.filename)
    if path.name.startswith(".") and path.name.endswith(".tmp"):
        path = path.parent
    return f"{path}: {reason}. Check the path, and that you may read and write there."
