"""REFI-QDA exchange with NVivo, ATLAS.ti, MAXQDA and QualCoder: ``qualcode import qdpx|qdc``
and ``qualcode export qdpx|qdc``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualcode.cli._app import console, print_json
from qualcode.cli._groups import export_app, import_app

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]


# Choices are plain strings checked by the library, so a wrong one gets the house sentence
# ("The 'tool' parameter of import_qdpx() must be one of ...") and exit code 2.


def _check_order(command: str, file: Path, project: Path) -> None:
    """Refuse a project given where the REFI-QDA file goes (``import codings`` takes the
    project first, these commands take it second)."""
    if file.suffix.lower() == ".qualcode" and project.suffix.lower() != ".qualcode":
        from qualcode.errors import ParameterError

        raise ParameterError(
            f"qualcode import {command} takes the REFI-QDA file first and the project second: "
            f"qualcode import {command} {project} {file}"
        )


def _print_lines(title: str, lines: list[str] | tuple[str, ...], style: str) -> None:
    from rich.text import Text

    if lines:
        console.print(Text(title, style=style))
        for line in lines:
            console.print(Text(f"  - {line}"))  # file names may hold [brackets]: no markup


@import_app.command("qdpx")
def import_qdpx_command(
    file: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx).")],
    project: Annotated[Path, typer.Argument(
        help="The project to import into; created when it does not exist.")],
    tool: Annotated[str, typer.Option(
        help="The program that wrote the file: auto (read from the file), nvivo, atlasti, "
             "maxqda or qualcoder. nvivo counts positions in UTF-16 units, qualcoder in "
             "code points.")] = "auto",
    positions: Annotated[str, typer.Option(
        help="Force how selection positions count: auto (by the tool, else from the "
             "evidence), codepoints or utf16.")] = "auto",
    force: Annotated[bool, typer.Option(
        "--force", help="Replace PROJECT with a new project instead of importing into it.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Import a REFI-QDA project: documents, codes, codings, memos."""
    from qualcode._text import counted
    from qualcode.export.refiqda import import_qdpx

    _check_order("qdpx", file, project)
    result = import_qdpx(file, project, tool=tool, positions=positions, overwrite=force)
    if json_:
        print_json(result.to_dict())
        return
    from rich.text import Text

    verb = "Created" if result.created else "Updated"
    console.print(Text(
        f"{verb} {result.project} from {file.name} ({result.read.origin or 'unknown tool'}): "
        f"{counted(len(result.documents_added), 'document')} added, "
        f"{len(result.documents_unchanged)} already there; {counted(result.codes, 'code')} "
        f"({result.codes_added} new); {result.codings_added} of "
        f"{counted(result.codings, 'coding')} added; {counted(result.memos_added, 'memo')}."))
    if result.read.positions:
        console.print(Text(result.read.positions, style="dim"))
    _print_lines("Sources whose text is missing:", result.read.missing_sources, "yellow")
    _print_lines("Not imported:", result.read.skipped, "yellow")
    _print_lines("Notes:", result.read.notes, "dim")


@import_app.command("qdc")
def import_qdc_command(
    file: Annotated[Path, typer.Argument(help="A REFI-QDA codebook (.qdc).")],
    project: Annotated[Path, typer.Argument(
        help="The project whose codebook it becomes; created when it does not exist.")],
    json_: JsonOpt = False,
) -> None:
    """Set a REFI-QDA codebook as the project's next codebook version."""
    from qualcode._text import counted
    from qualcode.export.refiqda import import_qdc

    _check_order("qdc", file, project)
    result = import_qdc(file, project)
    if json_:
        print_json(result.to_dict())
        return
    from rich.text import Text

    console.print(Text(f"{'Created' if result.created else 'Updated'} {result.project}: "
                       f"codebook version {result.codebook_version} with "
                       f"{counted(result.codes, 'code')} from {file.name}."))
    _print_lines("Warnings:", result.warnings, "yellow")


@export_app.command("qdpx")
def export_qdpx_command(
    project: ProjectArg,
    out: Annotated[Path, typer.Option(help="The .qdpx file to write.")],
    status: Annotated[str, typer.Option(
        help="Which codings to export: accepted, suggested, rejected or all. REFI-QDA has no "
             "status: whatever is exported looks like accepted work in the other tool.")
    ] = "accepted",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Write the project as a REFI-QDA .qdpx for NVivo, ATLAS.ti, MAXQDA, QualCoder."""
    from qualcode._text import counted
    from qualcode.export.refiqda import export_qdpx

    result = export_qdpx(project, out, status=status, overwrite=force)
    if json_:
        print_json(result.to_dict())
        return
    from rich.text import Text

    console.print(Text(f"Wrote {result.path}: {counted(result.documents, 'document')}, "
                       f"{counted(result.codes, 'code')}, {counted(result.codings, 'coding')}, "
                       f"{counted(result.memos, 'memo')}, {counted(result.users, 'user')}."))
    _print_lines("Left out:", result.skipped, "yellow")


@export_app.command("qdc")
def export_qdc_command(
    project: Annotated[Path, typer.Argument(
        help="A project (its current codebook), PROJECT:N (version N) or a codebook file.")],
    out: Annotated[Path, typer.Option(help="The .qdc file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Write a codebook as a REFI-QDA .qdc."""
    from qualcode.export.refiqda import export_qdc

    path = export_qdc(str(project), out, overwrite=force)
    if json_:
        print_json({"path": str(path)})
        return
    from rich.text import Text

    console.print(Text(f"Wrote {path}."))
