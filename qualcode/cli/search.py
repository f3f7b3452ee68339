"""``qualcode search``: text search as keyword in context, and coding every hit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qualcode.cli._app import app, console, print_json, print_table
from qualcode.cli.exports import CoderOpt, DocumentOpt, WhereOpt, _filters

if TYPE_CHECKING:
    from qualcode.text_search import SearchResult


@app.command("search")
def search_command(
    project: Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")],
    query: Annotated[str, typer.Argument(
        help="Words (a phrase; 'home visit OR doorstep' for alternatives), the exact text, "
             "or a regular expression (see --match).")],
    match: Annotated[str, typer.Option(
        help="words (on lemmas: 'visit' finds visits, visited), exact (the text as "
             "written, case ignored) or regex (a Python regular expression).")] = "words",
    document: DocumentOpt = None,
    speaker: Annotated[list[str] | None, typer.Option(
        "--speaker", help="Only this speaker's turns (repeat for several).")] = None,
    where: WhereOpt = None,
    code: Annotated[list[str] | None, typer.Option(
        "--code", help="Only in segments coded with this code (id or name; a theme brings "
                       "its codes; repeat for several).")] = None,
    coder: CoderOpt = None,
    coding_status: Annotated[list[str] | None, typer.Option(
        "--coding-status", help="With --code or --coder: codings with this status count: "
                                "accepted (default), suggested, rejected or all.")] = None,
    interviewer: Annotated[bool, typer.Option(
        "--interviewer", help="Search the interviewer's turns too.")] = False,
    context: Annotated[int, typer.Option(
        help="Characters shown on each side of a hit.")] = 60,
    limit: Annotated[int, typer.Option(
        help="Hits shown in the table (0: all); --out and --json have every hit.")] = 100,
    out: Annotated[Path | None, typer.Option(
        help="Write every hit to this file (.csv or .xlsx).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")
                     ] = False,
    code_as: Annotated[str | None, typer.Option(
        "--code-as", help="Code every hit with this code (id or name).")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="With --code-as: your name (default: $QUALCODE_CODER).")] = None,
    status: Annotated[str | None, typer.Option(
        help="With --code-as: accepted (default) or suggested (to review later).")] = None,
    unit: Annotated[str, typer.Option(
        help="With --code-as: code each hit, or each segment holding one (segment).")
    ] = "hit",
    json_: Annotated[bool, typer.Option("--json", help="Print every hit as JSON.")] = False,
) -> None:
    """Find words, a phrase or a pattern in every segment, shown as keyword in context.

    With --code-as, code every hit (one transaction; codings already there are kept)."""
    from qualcode.errors import ParameterError
    from qualcode.text_search import check_output, search

    if code_as is None:
        for name, value in (("--by", by), ("--status", status),
                            ("--unit", None if unit == "hit" else unit)):
            if value is not None:
                raise ParameterError(
                    f"{name} goes with --code-as CODE (the code to give every hit).")
    if coding_status and not (code or coder):
        raise ParameterError("--coding-status goes with --code or --coder (which codings "
                             "a segment must have).")
    if out is not None:  # refused before anything is searched or coded
        check_output(out, overwrite=force)
    filters = _filters(code, None, where, coding_status, coder, document)
    result = search(
        project, query, match=match, documents=filters.get("documents"),
        speakers=speaker or None, attributes=filters.get("attributes"),
        codes=filters.get("codes"), coder=filters.get("coder"), status=filters["status"],
        context=context, interviewer=interviewer)
    coded = (result.code(project, code_as, by=by, status=status or "accepted", unit=unit)
             if code_as is not None else None)
    written = result.write(out, overwrite=force) if out is not None else None
    if json_:
        print_json({**result.to_dict(),
                    **({"path": str(written)} if written is not None else {}),
                    **({"coded": coded.to_dict()} if coded is not None else {})})
        return
    if result.hits:
        print_table(_kwic_table(result, limit))
    console.print(result.summary(), markup=False, highlight=False)
    shown = len(result.hits) if limit <= 0 else min(limit, len(result.hits))
    if shown < len(result.hits):
        console.print(f"Showing the first {shown:,}: --limit 0 shows all, --out writes "
                      "them to a file.", markup=False, highlight=False)
    if written is not None:
        console.print(f"Wrote {written}.", markup=False, highlight=False)
    if coded is not None:
        console.print(str(coded), markup=False, highlight=False)


def _kwic_table(result: SearchResult, limit: int):
    """The hits as a rich table, aligned on the keyword. In a terminal the contexts are
    cut (from the outside in) to fit its width; into a pipe they stay whole."""
    from rich.table import Table
    from rich.text import Text

    from qualcode.text_search import _head, _squash, _tail

    hits = result.hits if limit <= 0 else result.hits[:limit]
    side = None
    if console.is_terminal:
        fixed = max(len(h.document) for h in hits) + max(len(h.speaker or "") for h in hits) \
            + min(40, max(len(_squash(h.text)) for h in hits)) + 3  # the gaps between
        side = max(8, (console.width - fixed) // 2)
    # The hit starts its column, with the words after it: every hit starts at one place.
    table = Table(box=None, show_header=True, header_style="bold", padding=(0, 1),
                  collapse_padding=True, pad_edge=False,
                  title=f"Search {result.describe()}", title_justify="left")
    table.add_column("document", no_wrap=True)
    table.add_column("speaker", no_wrap=True)
    table.add_column("before", justify="right", no_wrap=True)
    table.add_column("hit and after", no_wrap=True)
    for hit in hits:
        left = hit.left if side is None else _tail(hit.left, side)
        right = hit.right if side is None else _head(hit.right, side)
        table.add_row(Text(hit.document), Text(hit.speaker or ""), Text(left.rstrip()),
                      Text.assemble((_squash(hit.text), "bold yellow"), right))
    return table
