"""The review widget: buttons and keyboard shortcuts over :class:`~qualcode.review.ReviewSession`.

>>> from qualcode.widgets import review_widget                     # doctest: +SKIP
>>> review_widget(project, reviewer="alice", coder="rules")  # Jupyter shows it  # doctest: +SKIP

It shows the current suggestion in its context with the code, confidence and reason;
**Accept**, **Reject**, **Skip**, **Undo**, and **Change code** (with the code chosen in
the list beside it) write each decision to the project at once. For the keyboard, click in
the *Keys* box and type ``a`` (accept), ``r`` (reject), ``s`` (skip), ``u`` (undo) or
``c`` (change to the chosen code). The *Show* list narrows the queue to one theme or code.

All the logic lives in :mod:`qualcode.review`; this module only draws it. It needs
ipywidgets (``pip install 'qualcode[notebook]'``), imported when a widget is made.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qualcode.errors import DependencyError, ParameterError, QualcodeError
from qualcode.review import KEYS, ReviewSession

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["ReviewWidget", "review_widget"]


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:
        raise DependencyError(
            "The review widget needs ipywidgets, which is not installed. Install the "
            "notebook extra: pip install 'qualcode[notebook]'."
        ) from exc
    return ipywidgets


class ReviewWidget:
    """Buttons, a keys box, a code filter and a progress bar over a :class:`ReviewSession`.

    ``session`` is the live session (replaced when the *Show* filter changes);
    :attr:`box` the ipywidgets container Jupyter displays.
    """

    def __init__(self, session: ReviewSession, *, colors: str | Mapping[str, str] = "codebook"
                 ) -> None:
        w = _ipywidgets()
        self.session = session
        self.colors = colors
        self.card = w.HTML()
        self.status = w.HTML()
        self.progress = w.IntProgress(min=0, max=1, value=0, bar_style="info",
                                      layout=w.Layout(width="240px"))
        self.progress_text = w.Label()
        self.buttons = {
            "accept": w.Button(description="Accept (a)", button_style="success",
                               tooltip="Accept this suggestion [a]"),
            "reject": w.Button(description="Reject (r)", button_style="danger",
                               tooltip="Reject this suggestion [r]"),
            "skip": w.Button(description="Skip (s)", tooltip="Decide later [s]"),
            "undo": w.Button(description="Undo (u)", tooltip="Take back the last step [u]"),
            "recode": w.Button(description="Change code (c)", button_style="warning",
                               tooltip="Use the code chosen on the right instead [c]"),
        }
        book = session.codebook
        leaves = [(f"{c.name} ({c.id})", c.id) for c in (book.leaves() if book else ())]
        self.new_code = w.Dropdown(options=leaves, description="to",
                                   layout=w.Layout(width="320px"))
        filters: list[tuple[str, str | None]] = [("all codes", None)]
        for theme in (book.themes if book else ()):
            filters.append((f"{theme.name} (theme)", theme.id))
            filters.extend((f"  {c.name}", c.id) for c in book.leaves()  # type: ignore[union-attr]
                           if theme.id in book.ancestors(c.id))  # type: ignore[union-attr]
        code_filter = session.filters.get("code")
        self.show = w.Dropdown(options=filters, description="Show",
                               value=code_filter if isinstance(code_filter, str) and any(
                                   code_filter == v for _, v in filters) else None,
                               layout=w.Layout(width="320px"))
        self.keys = w.Text(value="", placeholder="click here, then a / r / s / u / c",
                           description="Keys", continuous_update=True,
                           layout=w.Layout(width="320px"))
        for action, button in self.buttons.items():
            button.on_click(lambda _button, action=action: self.act(action))
        self.keys.observe(self._on_key, names="value")
        self.show.observe(self._on_filter, names="value")
        self.box = w.VBox([
            w.HBox([self.progress, self.progress_text]),
            self.card,
            w.HBox([self.buttons["accept"], self.buttons["reject"], self.buttons["skip"],
                    self.buttons["undo"]]),
            w.HBox([self.buttons["recode"], self.new_code]),
            w.HBox([self.keys, self.show]),
            self.status,
        ])
        self.refresh()

    # -- actions -----------------------------------------------------------------------------------
    def act(self, action: str) -> None:
        """Do ``action`` (accept, reject, skip, undo, recode) on the session and redraw;
        an error is shown under the buttons instead of raised."""
        try:
            if action == "recode":
                if self.new_code.value is None:
                    raise ParameterError("Choose the code to change to first.")
                step = self.session.recode(self.new_code.value)
            else:
                step = getattr(self.session, action)()
            self.status.value = self._said(action, step)
        except QualcodeError as exc:
            self.status.value = f'<span style="color:#b00020">{html.escape(str(exc))}</span>'
        self.refresh()

    def _said(self, action: str, step: Any) -> str:
        if action == "undo":  # as the terminal says it: what, where, when, and what now
            return html.escape(
                "Nothing of yours left to undo (other reviewers' decisions are theirs to "
                "take back)." if step is None else self.session.describe(step, undone=True))
        text = {"accept": "Accepted", "reject": "Rejected", "skip": "Skipped",
                "recode": f"Changed to {getattr(step, 'new_code', '')}"}[action]
        return html.escape(f"{text} coding {step.coding_id}.")

    def _on_key(self, change: Mapping[str, Any]) -> None:
        typed = change.get("new") or ""
        if not typed:
            return
        self.keys.value = ""  # ready for the next key (this re-enters with "": ignored)
        key = typed[-1].lower()
        if key in KEYS:
            self.act(KEYS[key])
        else:
            keys = ", ".join(f"{k} = {a}" for k, a in KEYS.items())
            self.status.value = html.escape(f"Unknown key {key!r}: {keys}.")

    def _on_filter(self, change: Mapping[str, Any]) -> None:
        try:
            self.session = self.session.refilter(code=change.get("new"))
            self.status.value = ""
        except QualcodeError as exc:
            self.status.value = f'<span style="color:#b00020">{html.escape(str(exc))}</span>'
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw the card, the progress and which buttons can be used."""
        progress = self.session.progress
        self.progress.max = max(progress.total, 1)
        self.progress.value = progress.decided
        self.progress_text.value = str(progress)
        item = self.session.current
        if item is None:
            skipped = (" Skipped items stay suggested; call widget.session.revisit_skipped()"
                       " to see them again.") if progress.skipped else ""
            self.card.value = (f"<div><b>Review done.</b> {html.escape(str(progress))}."
                               f"{html.escape(skipped)}</div>")
        else:
            self.card.value = item.html(self.colors)
        for action in ("accept", "reject", "skip", "recode"):
            self.buttons[action].disabled = item is None
        # undo also reaches this reviewer's decisions of earlier sessions
        self.buttons["undo"].disabled = self.session.undoable is None

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.box._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<ReviewWidget {self.session.progress}>"


def review_widget(
    project: Project,
    *,
    reviewer: str | None = None,
    colors: str | Mapping[str, str] = "codebook",
    **filters: Any,
) -> ReviewWidget:
    """A review widget over ``project``'s suggestions; ``filters`` are those of
    :class:`~qualcode.review.ReviewSession` (``code``, ``document``, ``coder``, ``method``,
    ``status``, ``min_confidence``, ``order``, ``context``)."""
    _ipywidgets()  # fail early, before any work, when the extra is missing
    return ReviewWidget(ReviewSession(project, reviewer=reviewer, **filters), colors=colors)
