"""The ``qualcode`` command line: a thin shell over the library.

Each module in this package registers its commands on :data:`qualcode.cli._app.app`; every
command parses its arguments, calls one library function, and prints the result (or JSON
with ``--json``). :func:`main` turns qualcode's errors into a one-line message and an exit
code (see :data:`qualcode.errors.EXIT_CODES`); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

# Importing a command module registers its commands on the app.
from qualcode.cli import project as _project  # noqa: F401
from qualcode.cli import exports as _exports  # noqa: F401
from qualcode.cli import saturation as _saturation  # noqa: F401
from qualcode.cli._app import app, err_console

__all__ = ["app", "main"]


def _error(label: str, message: str) -> None:
    from rich.text import Text

    # Messages quote user text (e.g. "[00:03:12] Dave:"), so no markup in them.
    err_console.print(Text.assemble((label, "bold red"), " ", message))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``qualcode`` console script."""
    from qualcode.errors import QualcodeError

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        app(args=args, standalone_mode=False)
    except QualcodeError as exc:
        if debug:
            raise
        _error("Error:", str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("Interrupted; work committed so far is kept in the project.")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # click's own usage errors come through here too
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(2)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        if debug:
            raise
        _error(
            "Internal error:",
            f"{type(exc).__name__}: {exc}\nThis is a bug in qualcode. Run again with "
            "--debug and report the traceback.",
        )
        sys.exit(70)
