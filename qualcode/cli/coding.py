"""Commands for selective coding: ``qualcode code`` and ``qualcode review``.

``code`` calls :func:`qualcode.coding.code_project`; ``review`` drives a
:class:`qualcode.review.ReviewSession` from the keyboard.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.text import Text

from qualcode.cli._app import app, console, print_json

if TYPE_CHECKING:
    from qualcode.review import ReviewItem, ReviewSession

ProjectArg = Annotated[Path, typer.Argument(help="The project file (e.g. study.qualcode).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]


@app.command()
def code(
    project: ProjectArg,
    method: Annotated[
        str, typer.Option(help="rules, semantic, supervised or auto.")
    ] = "auto",
    coder: Annotated[
        str | None, typer.Option(help="Name to store the suggestions under (default: the "
                                      "method).")
    ] = None,
    documents: Annotated[
        str | None, typer.Option(help="Comma-separated document ids or glob patterns.")
    ] = None,
    learn_from: Annotated[
        str | None, typer.Option(help="supervised/auto: whose accepted codings to learn "
                                      "from (default: everyone's).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="semantic/auto: similarity a segment needs.")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Segments per transaction (default 500); with "
                                      "--engine dask, per task (default 500; rules 5,000).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="local (this process) or dask (a Dask cluster).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="--engine dask: a Dask scheduler's address; the "
                                      "text goes to its machines (default: a local "
                                      "cluster on this machine).")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="--engine dask: worker processes of the local cluster.")
    ] = 2,
    jobs: Annotated[
        int | None, typer.Option(help="rules: processes to code in (default: one per core "
                                      "for a large project, on Linux; 1: this one only).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Suggest codes for every segment with a machine coder (status: suggested)."""
    from qualcode.coding import code_project
    from qualcode.engine.progress import progress_reporter
    from qualcode.errors import ParameterError

    params: dict[str, object] = {} if threshold is None else {"threshold": threshold}
    if jobs is not None:
        if method != "rules" or engine != "local":
            raise ParameterError(
                "--jobs sets the processes of the rules coder in this machine (--method "
                "rules, --engine local); with --engine dask, --workers sets them.")
        params["n_jobs"] = jobs
    if engine == "dask":
        from qualcode.engine import code_project_dask

        run = code_project_dask(project, method, scheduler=scheduler, workers=workers,
                                partition_size=batch_size, coder=coder, documents=documents,
                                learn_from=learn_from, progress=not json_, **params)
    elif engine == "local":
        with progress_reporter(not json_, f"Coding with the {method} coder",
                               unit="segments") as report:
            run = code_project(project, method, coder, documents, learn_from=learn_from,
                               batch_size=500 if batch_size is None else batch_size,
                               progress=report, **params)
    else:
        from qualcode.errors import parameter_error

        raise parameter_error("--engine", "qualcode code", "'local' or 'dask'", engine)
    if json_:
        print_json(run.to_dict())
        return
    console.print(
        f"{run.stored:,} suggestions from '{run.coder}' for {run.coded_segments:,} of "
        f"{run.segments:,} segments ({run.skipped:,} coded before: only new codes there) in "
        f"{run.seconds:.1f}s."
    )
    if run.report is not None:
        console.print(str(run.report), markup=False, highlight=False)
    if run.stored or run.skipped:  # nothing suggested, nothing to review
        console.print(f"Review them with: qualcode review {project} --coder {run.coder}",
                      markup=False)


@app.command()
def review(
    project: ProjectArg,
    coder: Annotated[str | None, typer.Option(help="Only this coder's suggestions.")] = None,
    code: Annotated[
        str | None, typer.Option("--code", help="Only this code (or theme).")
    ] = None,
    documents: Annotated[
        str | None, typer.Option(help="Comma-separated document ids or glob patterns.")
    ] = None,
    min_confidence: Annotated[
        float | None, typer.Option(help="Only suggestions at least this confident.")
    ] = None,
    order: Annotated[
        str, typer.Option(help="document, confidence, low_confidence or code.")
    ] = "confidence",
    by: Annotated[
        str | None, typer.Option(help="Your name, logged with each decision (default: "
                                      "$QUALCODE_CODER).")
    ] = None,
) -> None:
    """Accept, reject or change machine suggestions one by one in the terminal.

    Keys: a accept, r reject, c change the code, s skip, u undo, q quit. Each decision is
    saved at once, so quitting keeps them. u also takes back your decisions of earlier
    sessions, most recent first, and shows each again to decide.
    """
    from qualcode.api import open_project
    from qualcode.review import ReviewSession

    with open_project(project) as opened:
        session = ReviewSession(opened, reviewer=by, coder=coder, code=code,
                                document=documents, min_confidence=min_confidence,
                                order=order)
        if session.done:
            console.print("No suggestions to review.")
            if session.undoable is None:
                return
        quit_early = _review_in_terminal(session)
        console.print(str(session.progress) + (" (stopped; run again to go on)."
                                               if quit_early else "."), markup=False)


def _review_in_terminal(session: ReviewSession) -> bool:
    """Show each item and act on the key typed; True when the reviewer quit early.

    Reads standard input line by line, so a test (or a script) can feed the keys.
    """
    from qualcode.errors import NotFoundError, ParameterError

    while True:
        item = session.current
        if item is None:  # all decided: undo can still take the last ones back
            if session.undoable is None:
                return False
            key = _read("Nothing left to review. [u]ndo [q]uit: ").lower()[:1]
            if key in ("q", ""):
                return False
            if key != "u":
                console.print("Please type u or q.", markup=False)
                continue
        else:
            console.print(_card(item))
            key = _read("[a]ccept [r]eject [c]hange [s]kip [u]ndo [q]uit: ").lower()[:1]
            if key in ("q", ""):  # q, or the end of the input
                return True
            if key not in "arcsu":
                console.print("Please type a, r, c, s, u or q.", markup=False)
                continue
        if key == "u":
            try:
                step = session.undo()
            except ParameterError as exc:  # overtaken since: say why, change nothing
                console.print(Text(str(exc), style="red"))
                continue
            console.print("Nothing of yours left to undo (other reviewers' decisions are "
                          "theirs to take back)." if step is None
                          else session.describe(step, undone=True), markup=False)
            continue
        new_code = None
        if key == "c":
            new_code = _read("New code (id or name): ")
            if not new_code:
                continue
        try:
            session.press(key, code=new_code)
        except (NotFoundError, ParameterError) as exc:  # e.g. an unknown code: ask again
            console.print(Text(str(exc), style="red"))


def _card(item: ReviewItem) -> Panel:
    """A suggestion in context: the turns around it dimmed, the coded words highlighted."""
    coding = item.coding
    body = Text()
    for segment in item.context:
        overlaps = segment.start < coding.end and coding.start < segment.end
        if segment.speaker:
            body.append(f"{segment.speaker}: ", style="bold" if overlaps else "dim bold")
        if not overlaps:
            body.append(_clip(segment.text) + "\n", style="dim")
            continue
        text = item.document.text
        body.append(text[segment.start:max(segment.start, coding.start)])
        body.append(item.text, style="bold yellow")
        body.append(text[min(segment.end, coding.end):segment.end] + "\n")
    if not item.context:
        body.append(item.text + "\n", style="bold yellow")
    confidence = "?" if coding.confidence is None else f"{coding.confidence:.2f}"
    body.append(f"\n{item.code_name} [{coding.code_id}]  confidence {confidence}  "
                f"({coding.method}, {coding.coder})\n", style="cyan")
    body.append("Why: " + (coding.reason or "no reason given"), style="italic")
    return Panel(body, title=f"{item.heading}  {coding.document_id}", title_align="left")


def _read(prompt: str) -> str:
    try:
        return console.input(prompt, markup=False).strip()
    except EOFError:
        return ""


def _clip(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
