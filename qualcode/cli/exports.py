"""``qualcode export excerpts`` and ``qualcode export tables``: the exports for a paper."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from qualcode._text import counted
from qualcode.cli._app import console, print_json
from qualcode.cli._groups import export_app

ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print what was written as JSON.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Replace files that exist.")]
CodeOpt = Annotated[list[str] | None, typer.Option(
    "--code", help="Only this code (id or name; repeat for several).")]
ThemeOpt = Annotated[list[str] | None, typer.Option(
    "--theme", help="Only the codes of this theme (repeat for several).")]
WhereOpt = Annotated[list[str] | None, typer.Option(
    "--where", help="Only documents with this case attribute, e.g. setting=Oakview "
                    "(repeat; the same name twice means either value).")]
StatusOpt = Annotated[list[str] | None, typer.Option(
    "--status", help="Codings with this status: accepted (default), suggested, rejected "
                     "or all (repeat for several).")]
CoderOpt = Annotated[list[str] | None, typer.Option(
    "--coder", help="Only this coder's codings (repeat for several).")]
DocumentOpt = Annotated[list[str] | None, typer.Option(
    "--document", help="Only this document (repeat for several).")]


def _filters(code: list[str] | None, theme: list[str] | None, where: list[str] | None,
             status: list[str] | None, coder: list[str] | None,
             document: list[str] | None) -> dict[str, Any]:
    from qualcode.errors import ParameterError

    attributes: dict[str, list[str]] = {}
    for item in where or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise ParameterError(
                f"--where takes NAME=VALUE, e.g. setting=Oakview. Got {item!r} instead.")
        attributes.setdefault(name.strip(), []).append(value.strip())
    filters: dict[str, Any] = {"status": status or "accepted"}
    for key, value in (("codes", code), ("themes", theme), ("attributes", attributes),
                       ("coder", coder), ("documents", document)):
        if value:
            filters[key] = value
    return filters


@export_app.command("excerpts")
def export_excerpts_command(
    project: ProjectArg,
    out: Annotated[Path | None, typer.Option(
        help="File to write; its suffix picks the format (.docx .md .html .tex .csv .xlsx). "
             "Default: PROJECT-excerpts.docx in the current folder.")] = None,
    format: Annotated[str | None, typer.Option(
        "--format", help="docx, markdown, html, latex, csv or xlsx (default: from --out).")
    ] = None,
    code: CodeOpt = None,
    theme: ThemeOpt = None,
    where: WhereOpt = None,
    status: StatusOpt = None,
    coder: CoderOpt = None,
    document: DocumentOpt = None,
    template: Annotated[str | None, typer.Option(
        help="Attribution: case attributes or document, speaker, role, start_time, code, "
             "theme, coders in braces. Default: '{speaker}, {setting}'.")] = None,
    context: Annotated[int, typer.Option(
        help="Show N sentences before and after each excerpt (within the turn).")] = 0,
    context_chars: Annotated[int, typer.Option(
        help="Show about N characters before and after instead.")] = 0,
    max_chars: Annotated[int | None, typer.Option(
        help="Trim longer excerpts at a word boundary, with an ellipsis.")] = None,
    per_code: Annotated[int | None, typer.Option(
        help="At most N excerpts per code, the most representative.")] = None,
    order: Annotated[str, typer.Option(
        help="representative (most representative first) or document (text order).")
    ] = "representative",
    ellipses: Annotated[bool, typer.Option(
        help="Mark quotes that start or stop mid-sentence with an ellipsis.")] = True,
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Coded excerpts grouped by theme then code, with attributions, for a paper."""
    from qualcode.export.excerpts import excerpts, suffix_for

    if out is None:
        out = Path(f"{project.stem}-excerpts{suffix_for(format)}")
    result = excerpts(
        project, **_filters(code, theme, where, status, coder, document), template=template,
        context=context, context_chars=context_chars, max_chars=max_chars, per_code=per_code,
        order=order, ellipses=ellipses)
    with warnings.catch_warnings(record=True) as caught:  # said below as notes, not tracebacks
        warnings.simplefilter("always", UserWarning)
        written = result.write(out, format=format, overwrite=force)
    notes = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    shown = sum(c.shown for c in result.counts)
    total = sum(c.excerpts for c in result.counts)
    if json_:
        print_json({
            "path": str(written),
            "excerpts": shown,
            "excerpts_before_cap": total,
            "interviews": result.interviews,
            "codes": [{"code": c.code, "theme": c.theme, "excerpts": c.excerpts,
                       "interviews": c.interviews, "shown": c.shown} for c in result.counts],
            "notes": notes,
        })
        return
    codes = sum(1 for c in result.counts if c.shown)
    console.print(f"Wrote {written}: {counted(shown, 'excerpt')} of {counted(codes, 'code')}"
                  + (f" ({total:,} before the cap)" if total != shown else "")
                  + f", from {counted(result.interviews, 'interview')}.", highlight=False)
    empty = [c.code for c in result.counts if not c.excerpts]
    if empty:
        console.print(f"[yellow]No excerpts for:[/] {', '.join(empty)}", highlight=False)
    for note in notes:
        console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False)


@export_app.command("tables")
def export_tables_command(
    project: ProjectArg,
    out: Annotated[Path | None, typer.Option(
        help="Folder to write into (created if needed). Default: PROJECT-tables.")] = None,
    by: Annotated[list[str] | None, typer.Option(
        "--by", help="Case attribute to count by (repeat; default: setting and role).")
    ] = None,
    level: Annotated[list[str] | None, typer.Option(
        "--level", help="code and/or theme (default: both).")] = None,
    unit: Annotated[str, typer.Option(
        help="Co-occurrence unit: segment (same segment), overlap (overlapping codings) or "
             "document (same interview).")] = "segment",
    format: Annotated[list[str] | None, typer.Option(
        "--format", help="Table formats: csv and/or tex (default: both).")] = None,
    figure: Annotated[list[str] | None, typer.Option(
        "--figure", help="Heatmap formats: png, svg, pdf (default: png and svg).")] = None,
    no_figures: Annotated[bool, typer.Option(
        "--no-figures", help="Write tables only.")] = False,
    code: CodeOpt = None,
    theme: ThemeOpt = None,
    where: WhereOpt = None,
    status: StatusOpt = None,
    coder: CoderOpt = None,
    document: DocumentOpt = None,
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Frequencies by case attribute, a code x case matrix and co-occurrence.

    CSV, LaTeX and heatmaps, at code and theme level.
    """
    from qualcode.export.tables import export_tables

    folder = out if out is not None else Path(f"{project.stem}-tables")
    with console.status("Counting codes...") if not json_ else _nothing():
        written = export_tables(
            project, folder, by=by or None, levels=level or ("code", "theme"), unit=unit,
            formats=format or ("csv", "tex"),
            figures=() if no_figures else (figure or ("png", "svg")), overwrite=force,
            **_filters(code, theme, where, status, coder, document))
    if json_:
        print_json({"folder": str(folder), "files": [str(p) for p in written]})
        return
    console.print(f"Wrote {len(written)} files to {folder}:", highlight=False)
    for path in written:
        console.print(f"  {path.name}", highlight=False)


def _nothing():
    from contextlib import nullcontext

    return nullcontext()
