"""Commands for the project itself: init, ingest, info, codebook, demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qualcode._text import counted
from qualcode.cli._app import app, codebook_app, console, print_json, print_table

ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command()
def init(
    project: ProjectArg,
    codebook: Annotated[
        Path | None, typer.Option(help="A codebook (.yaml, .csv, .xlsx, .qdc) to start with.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Create a new project file."""
    from qualcode import api

    with api.init(project, codebook=codebook, overwrite=force) as created:
        book = created.codebook
    extra = f" with codebook '{book.name}' ({len(book.leaves())} codes)" if book else ""
    console.print(f"Created {project}{extra}.")


@app.command()
def ingest(
    project: ProjectArg,
    paths: Annotated[list[Path], typer.Argument(help="Transcript files or folders.")],
    cases: Annotated[
        Path | None, typer.Option(help="A cases table (CSV/XLSX): one row per document.")
    ] = None,
    segment: Annotated[
        str, typer.Option(help="Unit of analysis: turns, paragraphs or sentences.")
    ] = "turns",
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace documents whose text changed.")
    ] = False,
    text_column: Annotated[
        str | None, typer.Option(help="Survey tables: the column holding the answers.")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Survey tables: the column holding respondent ids.")
    ] = None,
    interviewer: Annotated[
        list[str] | None,
        typer.Option(help="A speaker name to treat as interviewer (repeatable)."),
    ] = None,
    unlabelled: Annotated[
        str | None,
        typer.Option(help="Unlabelled paragraphs: auto, continue (the previous speaker's "
                     "turn) or participant (think-aloud files labelling only the moderator)."),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="Force a text encoding (default: detected).")
    ] = None,
    case_id_column: Annotated[
        str | None, typer.Option(help="The cases table's column naming documents.")
    ] = None,
    allow_extra_cases: Annotated[
        bool, typer.Option("--allow-extra-cases",
                           help="Report, not refuse, case rows naming no document "
                           "(ingesting a study in batches).")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Read transcripts into a project (.txt .md .docx .odt .vtt .srt .csv .tsv .xlsx)."""
    from rich.progress import Progress

    from qualcode import api

    options = {k: v for k, v in (
        ("text_column", text_column), ("id_column", id_column), ("interviewers", interviewer),
        ("unlabelled", unlabelled), ("encoding", encoding), ("case_id_column", case_id_column),
    ) if v}
    if allow_extra_cases:
        options["unknown_cases"] = "report"
    # Into a file or a pipe the bar would leave an empty line before the summary.
    with Progress(console=console, transient=True,
                  disable=json_ or not console.is_terminal) as bar:
        task = bar.add_task("Reading", total=None)

        def progress(path: Path, i: int, n: int) -> None:  # i == n: storing in the project
            step = "Reading" if i < n else "Storing in"
            bar.update(task, total=n, completed=i, description=f"{step} {path.name}")

        summary = api.ingest(project, paths, cases=cases, segment=segment, replace=replace,
                             progress=progress, **options)
    if json_:
        print_json(summary.to_dict())
        return
    console.print(
        f"{counted(len(summary.added), 'document')} added, {len(summary.unchanged):,} unchanged, "
        f"{len(summary.replaced):,} replaced; {summary.segments:,} segments ({summary.unit}s)."
    )
    if summary.skipped_files:
        console.print(f"Skipped (unsupported): {', '.join(summary.skipped_files)}")
    for note in summary.notes:
        console.print(f"[dim]{note}[/]", highlight=False)
    if summary.documents_without_cases:
        console.print(
            f"[yellow]No row in the cases table for:[/] "
            f"{', '.join(summary.documents_without_cases)}"
        )


@app.command()
def info(project: ProjectArg, json_: JsonOpt = False) -> None:
    """Documents, segments, words, speakers, codes and codings of a project."""
    from qualcode import api

    data = api.info(project)
    if json_:
        print_json(data)
        return
    from rich.table import Table

    from qualcode.display import book_size

    table = Table(title=str(project), show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("documents", str(data["documents"]))
    table.add_row("words", f"{data['words']:,}")
    table.add_row("segments", f"{data['segments']:,} ({data['unit']}s)")
    speakers = data["speakers"]
    table.add_row("speakers", f"{len(speakers)}" + (
        f" (most turns: {', '.join(list(speakers)[:5])})" if speakers else ""))
    book = data["codebook"]
    table.add_row("codebook", "none" if book is None else
                  f"{book['name']} v{book['version']}: {book_size(book)}")
    table.add_row("codings", ", ".join(f"{n} {s}" for s, n in data["codings"].items()))
    for row in data["coders"]:
        table.add_row("", f"{row['coder']} ({row['method']}): {row['codings']} {row['status']}")
    if data["codes_not_in_codebook"]:
        table.add_row("[yellow]codes not in codebook", ", ".join(data["codes_not_in_codebook"]))
    table.add_row("memos", str(data["memos"]))
    console.print(table)


@codebook_app.command("validate")
def codebook_validate(
    path: Annotated[Path, typer.Argument(help="A codebook file.")],
    strict: Annotated[bool, typer.Option(help="Fail on warnings too.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Check a codebook file; list every error and warning with its line."""
    from dataclasses import asdict

    from rich.text import Text

    from qualcode.codebook import validate_codebook
    from qualcode.errors import CodebookError

    problems = validate_codebook(path)
    errors = [p for p in problems if p.severity == "error"]
    if json_:
        print_json({"file": str(path), "problems": [asdict(p) for p in problems]})
    else:
        for problem in problems:
            style = "red" if problem.severity == "error" else "yellow"
            # The problem's own text may hold brackets (a pattern such as '([a-z]+'): not markup.
            console.print(Text(problem.severity, style=style), Text(str(problem)),
                          highlight=False)
        if not problems:
            console.print(f"{path}: valid.")
    if errors or (strict and problems):
        warnings = len(problems) - len(errors)
        raise CodebookError(f"{len(errors)} error{'' if len(errors) == 1 else 's'}, "
                            f"{warnings} warning{'' if warnings == 1 else 's'}.", path=path)


@codebook_app.command("show")
def codebook_show(
    source: Annotated[str, typer.Argument(help="A codebook file, a project, or PROJECT:N.")],
    json_: JsonOpt = False,
) -> None:
    """Show a codebook as a tree of themes and codes with their definitions."""
    from qualcode import api

    book = api.codebook_from(source)
    if json_:
        print_json(book.to_frame().to_dict(orient="records"))
        return
    from rich.tree import Tree

    tree = Tree(f"[bold]{book.name}[/] (version {book.version}, {len(book.leaves())} codes)")

    def add(branch: Tree, parent: str | None) -> None:
        for code in book.children(parent):
            label = f"[bold]{code.name}[/] [dim]{code.id}[/]"
            if code.definition:
                label += f"\n[dim]{code.definition}[/]"
            add(branch.add(label), code.id)

    add(tree, None)
    console.print(tree)


@codebook_app.command("diff")
def codebook_diff(
    old: Annotated[str, typer.Argument(help="Older codebook: a file, a project, or PROJECT:N.")],
    new: Annotated[str, typer.Argument(help="Newer codebook: a file, a project, or PROJECT:N.")],
    json_: JsonOpt = False,
) -> None:
    """What changed between two codebooks: added, removed, renamed, redefined, moved."""
    from qualcode import api

    changes = api.diff(old, new)
    if json_:
        print_json(changes.to_dict())
        return
    if not changes:
        console.print("No differences.")
        return
    from rich.table import Table

    table = Table("change", "code", "detail")
    for row in changes.to_rows():
        table.add_row(row["change"], row["code"], row["detail"])
    console.print(table)


@codebook_app.command("versions")
def codebook_versions(project: ProjectArg, json_: JsonOpt = False) -> None:
    """List a project's codebook versions with their notes (for `codebook diff P:1 P:2`)."""
    from rich.table import Table

    from qualcode import api

    with api.open_project(project) as opened:
        versions = opened.codebook_versions()
    if json_:
        print_json(versions)
        return
    if not versions:
        console.print(f"{project} has no codebook yet: `qualcode codebook set` stores one.")
        return
    table = Table("version", "name", "codes", "created", "note")
    for v in versions:
        table.add_row(str(v["version"]), v["name"], f"{v['codes']:,}", v["created"], v["note"])
    print_table(table)


@codebook_app.command("set")
def codebook_set(
    project: ProjectArg,
    path: Annotated[Path, typer.Argument(help="The codebook file to make current.")],
    note: Annotated[str, typer.Option(help="Why the codebook changed.")] = "",
) -> None:
    """Store a codebook file as the project's next codebook version."""
    from qualcode import api

    with api.open_project(project) as opened:
        version = opened.set_codebook(api.codebook_from(path), note=note)
        # Codings are never dropped with their code: say which codes they now lack.
        orphans = {code: len(opened.codings(code=code))
                   for code in opened.info()["codes_not_in_codebook"]}
    console.print(f"{project}: codebook version {version} is now current.")
    if orphans:
        listed = ", ".join(f"{code} ({n:,})" for code, n in orphans.items())
        console.print(f"Kept: the codings of {counted(len(orphans), 'code')} this codebook does "
                      f"not have: {listed}. They stay in the project as they are; add the "
                      "codes back to the codebook, or recode them.", markup=False,
                      highlight=False)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the project and reports.")] = Path(
        "qualcode-demo"),
    force: Annotated[bool, typer.Option("--force", help="Replace earlier demo output.")] = False,
    semantic: Annotated[bool, typer.Option(
        help="Run the sentence-embedding coder too (about a minute on a laptop).")] = True,
) -> None:
    """Run the whole pipeline on the bundled study and say where the outputs are."""
    from qualcode.demo import run_demo

    result = run_demo(out, overwrite=force, semantic=semantic, log=console.print)
    console.print()
    console.print("[bold]Outputs[/]")
    for label, path in result.outputs.items():
        console.print(f"  {label}: {path}")
