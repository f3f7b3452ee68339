"""Commands for looking and coding by hand: ``qualcode show``, ``quote`` and ``memo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualcode.cli._app import app, console, print_json

ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]


@app.command()
def show(
    project: ProjectArg,
    document: Annotated[str, typer.Argument(help="The document id.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    coder: Annotated[list[str] | None, typer.Option(help="Only these coders.")] = None,
    status: Annotated[list[str] | None, typer.Option(
        help="Statuses to show (default accepted and suggested).")] = None,
    code: Annotated[list[str] | None, typer.Option(help="Only these codes or themes.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Write a document with its codings highlighted as an HTML page."""
    from qualcode.api import open_project
    from qualcode.display import write_document_html

    with open_project(project) as opened:
        path = write_document_html(opened, document, out, coder=coder or None,
                                   status=status or ("accepted", "suggested"),
                                   code=code or None, overwrite=force)
    console.print(f"Wrote {path}", markup=False)


@app.command()
def quote(
    project: ProjectArg,
    text: Annotated[str, typer.Argument(help="The passage's words.")],
    code: Annotated[str, typer.Argument(help="The code (id or name).")],
    document: Annotated[str | None, typer.Option(help="Look only in this document.")] = None,
    coder: Annotated[str | None, typer.Option(
        "--coder", "--by", help="Your name (default: $QUALCODE_CODER).")] = None,
    occurrence: Annotated[int | None, typer.Option(
        help="Which occurrence, when the words occur more than once (1 = first).")] = None,
    memo: Annotated[str, typer.Option(help="A memo for this coding.")] = "",
    json_: Annotated[bool, typer.Option("--json", help="Print the coding as JSON.")] = False,
) -> None:
    """Code a passage by quoting it (case, spacing and quote marks are ignored)."""
    from dataclasses import asdict

    from qualcode.api import open_project
    from qualcode.manual import code_quote

    with open_project(project) as opened:
        coding = code_quote(opened, text, code, document=document, coder=coder,
                            occurrence=occurrence, memo=memo)
    if json_:
        print_json(asdict(coding))
    else:
        console.print(f"Coded {coding.document_id} {coding.start}-{coding.end} as "
                      f"{coding.code_id} (coding {coding.id}).", markup=False)


@app.command("memo")
def memo_command(
    project: ProjectArg,
    text: Annotated[str, typer.Argument(help="The memo.")],
    document: Annotated[str | None, typer.Option(help="About this document.")] = None,
    code: Annotated[str | None, typer.Option(help="About this code (id or name).")] = None,
    coding: Annotated[int | None, typer.Option(help="About this coding (its id).")] = None,
    author: Annotated[str | None, typer.Option(
        help="Your name (default: $QUALCODE_CODER).")] = None,
) -> None:
    """Write a memo about a document, a code, a coding or the project."""
    from qualcode.api import open_project
    from qualcode.manual import memo

    with open_project(project) as opened:
        memo_id = memo(opened, text, document=document, code=code, coding=coding,
                       author=author)
    console.print(f"Memo {memo_id} written.", markup=False)
