"""Every error qualcode raises on purpose.

    QualcodeError                    base: catch this to catch everything of ours
    ├── InputError                   a file or table the user gave is wrong (file, line, field)
    │   ├── ReaderError              a source document cannot be read
    │   ├── CodebookError            a codebook file is invalid
    │   ├── TableError               a CSV/Excel table (cases, codings, incidence) is invalid
    │   └── UnsafeInputError         an archive or XML file is hostile (traversal, bomb, entities)
    ├── ParameterError               a function or command got a value outside its domain
    ├── NotFoundError                an id (document, code, coder, coding) that does not exist
    ├── ProjectError                 the project store cannot be opened, written or migrated
    └── DependencyError              an optional extra is not installed

The CLI maps them to exit codes (see ``EXIT_CODES``) and prints the message without a
traceback. Messages are one sentence a researcher can act on: what was wrong, where, and
what to do.
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "EXIT_CODES",
    "CodebookError",
    "DependencyError",
    "InputError",
    "NotFoundError",
    "ParameterError",
    "ProjectError",
    "QualcodeError",
    "ReaderError",
    "TableError",
    "UnsafeInputError",
]


class QualcodeError(Exception):
    """Base class of every error qualcode raises on purpose."""

    exit_code = 1


class InputError(QualcodeError):
    """A file or table the user supplied is wrong.

    ``path``, ``line`` and ``field`` say where, when known; the message already names them
    (``message`` is the sentence alone, for a caller that lists the place itself).
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.field = field
        where = []
        if self.path is not None:
            where.append(self.path)
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ReaderError(InputError):
    """A source document cannot be read (missing, binary, empty, undecodable)."""


class CodebookError(InputError):
    """A codebook file is invalid."""


class TableError(InputError):
    """A CSV or Excel table is invalid."""


class UnsafeInputError(InputError):
    """An archive or XML document was refused as hostile or too large."""


class ParameterError(QualcodeError, ValueError):
    """A parameter is outside its domain.

    Use :func:`parameter_error` for the house sentence.
    """

    exit_code = 2


class NotFoundError(QualcodeError, KeyError):
    """An id that does not exist in the project or codebook."""

    exit_code = 4

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ProjectError(QualcodeError):
    """The project store cannot be opened, written or migrated."""

    exit_code = 5


class DependencyError(QualcodeError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    exit_code = 6


EXIT_CODES = {
    0: "success",
    1: "other qualcode error",
    2: "invalid parameter or usage",
    3: "invalid input file or table",
    4: "unknown document, code, coder or coding",
    5: "project store cannot be opened or written",
    6: "optional dependency missing",
    70: "internal error (a bug: please report it with --debug output)",
}


def parameter_error(name: str, where: str, expected: str, got: object) -> ParameterError:
    """The house sentence for a bad parameter.

    >>> str(parameter_error("threshold", "saturation()", "in [0, 1]", 1.5))
    "The 'threshold' parameter of saturation() must be in [0, 1]. Got 1.5 instead."
    """
    return ParameterError(
        f"The '{name}' parameter of {where} must be {expected}. Got {got!r} instead."
    )
