"""``qualcode anonymise``: replace names with pseudonyms, into a new project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qualcode.cli._app import app, console, print_json


@app.command("anonymise")
def anonymise_command(
    project: Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")],
    names: Annotated[Path | None, typer.Option(
        help="Names list: one name a line, 'Name = Pseudonym' to choose one, '!Name' to "
             "keep a name. --review writes it (or adds what it lacks).")] = None,
    review: Annotated[bool, typer.Option(
        "--review", help="List every replacement with its context and write the names "
                         "list to edit. Changes nothing.")] = False,
    apply: Annotated[bool, typer.Option(
        "--apply", help="Write the anonymised project (--out) and the key (--key).")] = False,
    key: Annotated[Path | None, typer.Option(
        help="Where the key (real name -> pseudonym) goes; keep it apart from the "
             "anonymised project. Default: PROJECT.pseudonym-key.csv.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="The new, anonymised project. Default: PROJECT.anonymised.qualcode. The "
             "original is never changed.")] = None,
    ner: Annotated[bool, typer.Option(
        "--ner/--no-ner", help="Find names with spaCy's entity recogniser (besides speaker "
                               "labels, name attributes and your list).")] = True,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace --out and --key if they exist.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Replace the names of people, places and organisations with pseudonyms.

    Without --apply nothing is written but the names list (--review). Review, edit the
    list, then apply with it: qualcode anonymise study.qualcode --names names.txt --apply
    """
    from contextlib import nullcontext

    from qualcode.errors import ParameterError
    from qualcode.privacy import anonymise

    if review and apply:
        raise ParameterError(
            "Use --review and --apply one after the other: review, edit the names list, "
            "then apply with --names."
        )
    with nullcontext() if json_ else console.status("Finding names..."):
        result = anonymise(project, names=names, ner=ner, write_names=review, apply=apply,
                           out=out, key=key, overwrite=force)
    if json_:
        print_json(result.to_dict() if review else {
            **result.to_dict(), **result.proposal.to_dict(replacements=False)})
        return
    _print(result, review=review)


def _print(result: Any, *, review: bool) -> None:
    from rich.markup import escape
    from rich.table import Table

    proposal = result.proposal
    if review:
        table = Table("document", "replaced", "by", "context", box=None, pad_edge=False)
        for r in proposal.replacements:
            table.add_row(
                escape(r.document_id), escape(r.text), escape(r.pseudonym),
                f"…{escape(r.before)}[bold]{escape(r.text)}[/]{escape(r.after)}…",
            )
        console.print(table)
    names = Table("name", "pseudonym", "type", "mentions", "found by", box=None,
                  pad_edge=False)
    for n in proposal.names:
        found = ", ".join(n.sources) + (f" (part of {n.alias_of})" if n.alias_of else "")
        names.add_row(escape(n.real), escape(n.pseudonym), n.type, str(n.mentions),
                      escape(found))
    console.print(names)
    if proposal.skipped:
        console.print("Found but not replaced (list them to replace them): " + ", ".join(
            f"{escape(text)} ({escape(reason)})" for text, reason in proposal.skipped))
    for note in proposal.notes:
        console.print(f"[yellow]Note:[/] {escape(note)}")
    summary = (f"{len(proposal.replacements)} replacements of {len(proposal.names)} names "
               f"in {len(proposal.document_ids)} documents.")
    if result.names_file:
        console.print(f"Names list: {escape(result.names_file)} (edit it: '!Name' keeps a "
                      "name, 'Name = Pseudonym' chooses one).")
    if result.applied:
        console.print(
            f"{summary} Wrote {escape(str(result.out))} ({result.codings} codings, "
            f"{result.memos} memos) and the key {escape(str(result.key))}: keep the key "
            "apart from the anonymised project."
        )
    else:
        console.print(f"{summary} Nothing was changed; run again with --apply to write the "
                      "anonymised project.")
