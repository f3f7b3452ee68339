"""Reviewing a machine's suggestions, one at a time: the logic behind the review widget.

A :class:`ReviewSession` is a queue of codings (by default the *suggested* ones) chosen by
code, document, coder, method and confidence, and a position in it. Each decision is
written to the project at once (:meth:`Project.accept`, :meth:`Project.reject`,
:meth:`Project.recode`), in its own transaction, so nothing is lost if the kernel dies: a
new session simply starts with the suggestions still waiting.

>>> session = ReviewSession(project, reviewer="alice", code="attendance")  # doctest: +SKIP
>>> session.current.text      # the words; session.current.html() shows them in context
...                                                                        # doctest: +SKIP
>>> session.accept()          # or reject(), recode("illness"), skip()  # doctest: +SKIP
>>> session.undo()            # takes the last step back, in the project too  # doctest: +SKIP
>>> print(session.progress)                                             # doctest: +SKIP
1 of 12 reviewed (1 accepted), 11 to go

The queue is fixed when the session starts (deciding never reorders it). After a decision
or a skip the session moves to the next item not yet decided or skipped, wrapping round to
the start; when none is left it is :attr:`~ReviewSession.done`
(:meth:`~ReviewSession.revisit_skipped` brings skipped items back). The same logic
answers keys: :data:`KEYS` maps ``a r c s u`` to accept, reject, change code, skip, undo.

Every decision is logged in the project with the reviewer's name (see
:meth:`Project.decisions`). A coding another reviewer or process decided after the session
read it is never overwritten: deciding on it raises :class:`~qualcode.errors.ParameterError`
saying who decided, and the session sets it aside (as skipped) and moves on. Undoing a
change of code sets the original suggestion back to its old status and sets the
reviewer's replacement coding back to what it was (a replacement that did not exist before
is marked rejected, as the project keeps every coding it was given).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qualcode.errors import ParameterError, parameter_error
from qualcode.manual import person
from qualcode.model import CODING_STATUSES, Codebook, Coding, Document, Segment

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["KEYS", "ORDERS", "Decision", "Progress", "ReviewItem", "ReviewSession"]

#: Keyboard shortcuts: key -> action.
KEYS: Mapping[str, str] = {"a": "accept", "r": "reject", "c": "recode", "s": "skip",
                           "u": "undo"}
#: Orders a queue can take.
ORDERS = ("document", "confidence", "low_confidence", "code")
_ACTION_STATUS = {"accept": "accepted", "reject": "rejected", "recode": "rejected"}


@dataclass(frozen=True)
class Decision:
    """One step of a session: ``action`` is accept, reject, recode or skip.

    ``previous_status`` is the coding's status before; for a recode ``new_code`` and
    ``new_coding_id`` name the reviewer's replacement and ``replaced_status`` is the status
    that replacement had before (None when it did not exist).
    """

    coding_id: int
    action: str
    previous_status: str
    new_code: str | None = None
    new_coding_id: int | None = None
    replaced_status: str | None = None

    @property
    def status(self) -> str | None:
        """The coding's status after this decision (None for a skip)."""
        return _ACTION_STATUS.get(self.action)


@dataclass(frozen=True)
class Progress:
    """How far a session has got (counts over its queue)."""

    total: int
    accepted: int
    rejected: int
    recoded: int
    skipped: int

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected + self.recoded

    @property
    def remaining(self) -> int:
        """Items neither decided nor skipped."""
        return self.total - self.decided - self.skipped

    @property
    def fraction(self) -> float:
        """Share of the queue decided (1.0 for an empty queue)."""
        return self.decided / self.total if self.total else 1.0

    def __str__(self) -> str:
        parts = [f"{n} {label}" for n, label in ((self.accepted, "accepted"),
                                                 (self.rejected, "rejected"),
                                                 (self.recoded, "recoded")) if n]
        text = f"{self.decided} of {self.total} reviewed"
        if parts:
            text += f" ({', '.join(parts)})"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text + f", {self.remaining} to go"


@dataclass(frozen=True, repr=False)
class ReviewItem:
    """The item under review: the coding, its words and where they stand.

    ``position`` is 0-based in the queue of ``total``; ``segment`` is the turn the coding
    starts in; ``context`` the turns shown around it (that turn included); ``decision`` the
    session's decision on it so far (None if undecided).
    """

    position: int
    total: int
    coding: Coding
    document: Document
    segment: Segment | None
    context: tuple[Segment, ...]
    codebook: Codebook | None
    decision: Decision | None = None

    @property
    def text(self) -> str:
        """The coded words."""
        return self.document.text[self.coding.start : self.coding.end]

    @property
    def code_name(self) -> str:
        book = self.codebook
        return book.get(self.coding.code_id).name if book is not None and (
            self.coding.code_id in book) else self.coding.code_id

    @property
    def reason(self) -> str:
        return self.coding.reason

    @property
    def heading(self) -> str:
        return f"{self.position + 1} of {self.total}"

    def html(self, colors: str | Mapping[str, str] = "codebook") -> str:
        """The review card (see :func:`qualcode.display.review_card_html`)."""
        from qualcode.display import review_card_html

        note = ""
        if self.decision is not None:
            note = f"Decided: {self.decision.action}" + (
                f" to {self.decision.new_code}" if self.decision.new_code else "")
        return review_card_html(self.coding, self.document, segments=self.context,
                                codebook=self.codebook, colors=colors,
                                heading=self.heading, note=note)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        c = self.coding
        return (f"<ReviewItem {self.heading}: coding {c.id}, {c.code_id} in {c.document_id} "
                f"{c.start}-{c.end}>")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self) if cycle else str(self))

    def __str__(self) -> str:
        c = self.coding
        confidence = f", confidence {c.confidence:.2f}" if c.confidence is not None else ""
        speaker = f" ({self.segment.speaker})" if self.segment and self.segment.speaker else ""
        lines = [f"{self.heading}: {c.document_id}{speaker}, {c.start}-{c.end}",
                 f"{self.code_name} [{c.code_id}] {c.status} by {c.coder}{confidence}"]
        if c.reason:
            lines.append(f"reason: {c.reason}")
        lines.append(f'"{" ".join(self.text.split())}"')
        return "\n".join(lines)


class ReviewSession:
    """Walk through codings (suggestions, by default) and decide on each.

    ``reviewer``: the person deciding (else ``$QUALCODE_CODER``). Filters: ``code`` (code
    or theme ids or names; a theme brings its codes), ``document`` (ids or glob patterns),
    ``coder``, ``method``, ``status`` (default ``"suggested"``), ``min_confidence``.
    ``order``: ``"document"`` (project then text order), ``"confidence"`` (highest first),
    ``"low_confidence"`` (lowest first) or ``"code"`` (codebook order). ``context``: turns
    shown on each side of the coded one.
    """

    def __init__(
        self,
        project: Project,
        *,
        reviewer: str | None = None,
        code: str | Sequence[str] | None = None,
        document: str | Sequence[str] | None = None,
        coder: str | Sequence[str] | None = None,
        method: str | Sequence[str] | None = None,
        status: str | Sequence[str] = "suggested",
        min_confidence: float | None = None,
        order: str = "document",
        context: int = 1,
        _history: Sequence[Decision] = (),
    ) -> None:
        self.project = project
        self.reviewer = person(reviewer, "ReviewSession()", parameter="reviewer",
                               option="--by")
        self.filters: dict[str, Any] = {
            "code": code, "document": document, "coder": coder, "method": method,
            "status": status, "min_confidence": min_confidence, "order": order,
            "context": context,
        }
        if order not in ORDERS:
            raise parameter_error("order", "ReviewSession()", f"one of {', '.join(ORDERS)}",
                                  order)
        if not isinstance(context, int) or isinstance(context, bool) or context < 0:
            raise parameter_error("context", "ReviewSession()", "a whole number >= 0", context)
        if min_confidence is not None and not (
            isinstance(min_confidence, (int, float)) and 0 <= min_confidence <= 1
        ):
            raise parameter_error("min_confidence", "ReviewSession()", "in [0, 1]",
                                  min_confidence)
        statuses = [status] if isinstance(status, str) else list(status)
        bad = [s for s in statuses if s not in CODING_STATUSES]
        if bad:
            raise parameter_error("status", "ReviewSession()",
                                  f"one or more of {', '.join(CODING_STATUSES)}", bad[0])
        self.codebook = project.codebook
        self.context = context
        queued = self._build_queue(code, document, coder, method, statuses, min_confidence,
                                   order)
        self._queue: list[int] = [c.id for c in queued if c.id is not None]
        # Each coding's status when the session read it: a change not made by this session
        # is another reviewer's (or process's) decision, never overwritten.
        self._queued_status = {c.id: c.status for c in queued}
        self._history: list[Decision] = list(_history)
        self._decisions: dict[int, Decision] = {}
        self._skipped: set[int] = set()
        for step in self._history:  # a refiltered session keeps what was decided
            self._apply_memory(step)
        self._position: int | None = None
        self._segments: dict[str, list[Segment]] = {}
        self._documents: dict[str, Document] = {}
        self._advance(-1)

    # -- building the queue ----------------------------------------------------------------------
    def _code_ids(self, code: str | Sequence[str]) -> list[str]:
        names = [code] if isinstance(code, str) else list(code)
        book = self.codebook
        if book is None:
            return names
        ids: list[str] = []
        for name in names:
            resolved = book.resolve(name).id
            ids.append(resolved)
            ids.extend(c.id for c in book if resolved in book.ancestors(c.id))
        return list(dict.fromkeys(ids))

    def _build_queue(self, code, document, coder, method, statuses, min_confidence,
                     order) -> list[Coding]:
        from qualcode.analysis.agreement import select_documents

        project = self.project
        doc_ids = None if document is None else select_documents(project.documents.ids,
                                                                 document)
        codes = None if code is None else self._code_ids(code)
        codings = [c for c in project.codings(document=doc_ids, code=codes, coder=coder,
                                              method=method, status=statuses)
                   if min_confidence is None or (c.confidence is not None
                                                 and c.confidence >= min_confidence)]
        doc_rank = {d: i for i, d in enumerate(project.documents.ids)}
        code_rank = {c.id: i for i, c in enumerate(self.codebook or ())}

        def by_text(c: Coding) -> tuple:
            return (doc_rank.get(c.document_id, len(doc_rank)), c.start, c.end, c.code_id,
                    c.id or 0)

        def confidence(c: Coding) -> float:
            return c.confidence if c.confidence is not None else 0.0

        keys = {
            "document": by_text,
            "confidence": lambda c: (-confidence(c), *by_text(c)),
            "low_confidence": lambda c: (confidence(c), *by_text(c)),
            "code": lambda c: (code_rank.get(c.code_id, len(code_rank)), c.code_id,
                               *by_text(c)),
        }
        return [c for c in sorted(codings, key=keys[order]) if c.id is not None]

    def refilter(self, **changes: Any) -> ReviewSession:
        """A new session over the project as it is now, with some filters changed
        (``code=``, ``document=``, ``order=``, ...); it keeps this session's history, so
        :meth:`undo` still reaches earlier decisions."""
        unknown = sorted(set(changes) - set(self.filters))
        if unknown:
            raise ParameterError(
                f"ReviewSession has no filter '{unknown[0]}'. Its filters are: "
                f"{', '.join(self.filters)}."
            )
        return ReviewSession(self.project, reviewer=self.reviewer,
                             **{**self.filters, **changes}, _history=self._history)

    # -- where we are ------------------------------------------------------------------------------
    @property
    def queue(self) -> tuple[int, ...]:
        """The coding ids under review, in order."""
        return tuple(self._queue)

    @property
    def position(self) -> int | None:
        """0-based position of the current item, None when done."""
        return self._position

    @property
    def done(self) -> bool:
        """True when every item is decided or skipped."""
        return self._position is None

    @property
    def history(self) -> tuple[Decision, ...]:
        """Every decision and skip of this session, oldest first."""
        return tuple(self._history)

    def decision(self, coding_id: int) -> Decision | None:
        """The session's current decision on a coding (None if undecided or skipped)."""
        return self._decisions.get(coding_id)

    @property
    def progress(self) -> Progress:
        counts = {"accept": 0, "reject": 0, "recode": 0}
        in_queue = set(self._queue)
        for coding_id, step in self._decisions.items():
            if coding_id in in_queue:
                counts[step.action] += 1
        skipped = len((self._skipped & in_queue) - set(self._decisions))
        return Progress(len(self._queue), counts["accept"], counts["reject"],
                        counts["recode"], skipped)

    @property
    def current(self) -> ReviewItem | None:
        """The item to decide on now (None when done)."""
        if self._position is None:
            return None
        return self.item(self._position)

    def item(self, position: int) -> ReviewItem:
        """The item at ``position`` (0-based) of the queue, read fresh from the project."""
        if not 0 <= position < len(self._queue):
            raise parameter_error("position", "ReviewSession.item()",
                                  f"in [0, {len(self._queue) - 1}]", position)
        coding = self.project.coding(self._queue[position])
        document = self._document(coding.document_id)
        turns = self._turns(coding.document_id)
        at = next((i for i, s in enumerate(turns) if s.start <= coding.start < s.end), None)
        if at is None:  # between turns (e.g. on a speaker label): the next turn
            at = next((i for i, s in enumerate(turns) if s.start >= coding.start), None)
        if at is None:
            segment, context = None, ()
        else:
            last = at
            while last + 1 < len(turns) and turns[last + 1].start < coding.end:
                last += 1
            segment = turns[at]
            context = tuple(turns[max(0, at - self.context) : last + 1 + self.context])
        return ReviewItem(position, len(self._queue), coding, document, segment, context,
                          self.codebook, self._decisions.get(coding.id))  # type: ignore[arg-type]

    def _document(self, doc_id: str) -> Document:
        if doc_id not in self._documents:
            self._documents[doc_id] = self.project.documents[doc_id]
        return self._documents[doc_id]

    def _turns(self, doc_id: str) -> list[Segment]:
        if doc_id not in self._segments:
            self._segments[doc_id] = list(self.project.segments(document=doc_id))
        return self._segments[doc_id]

    def _advance(self, after: int) -> None:
        """Move to the first open item after ``after``, wrapping round; None if none."""
        n = len(self._queue)
        for step in range(1, n + 1):
            i = (after + step) % n
            coding_id = self._queue[i]
            if coding_id not in self._decisions and coding_id not in self._skipped:
                self._position = i
                return
        self._position = None

    def go_to(self, position: int) -> ReviewItem:
        """Make the item at ``position`` current (decided or not); returns it."""
        item = self.item(position)
        self._position = position
        return item

    # -- deciding ----------------------------------------------------------------------------------
    def _current_id(self, action: str) -> int:
        if self._position is None:
            raise ParameterError(
                f"Nothing left to {action}: every item is decided or skipped. Call "
                "revisit_skipped() or undo(), or start a session with other filters."
            )
        return self._queue[self._position]

    def accept(self) -> Decision:
        """Accept the current coding; moves on. Returns the decision."""
        return self._decide("accept")

    def reject(self) -> Decision:
        """Reject the current coding; moves on."""
        return self._decide("reject")

    def recode(self, code: str) -> Decision:
        """Reject the current coding and store the reviewer's accepted coding of the same
        words with ``code`` (an id or name) instead; moves on."""
        return self._decide("recode", code)

    def _decide(self, action: str, code: str | None = None) -> Decision:
        coding_id = self._current_id(action)
        coding = self.project.coding(coding_id)
        if (coding_id not in self._decisions
                and coding.status != self._queued_status.get(coding_id, coding.status)):
            self._decided_elsewhere(coding)
        by = self.reviewer
        if action == "recode":
            if code is None:
                raise ParameterError("recode() needs the code to use instead.")
            # The codebook as it is now: a code may have been added since the session began.
            self.codebook = self.project.codebook
            new_code = self.codebook.resolve(code).id if self.codebook is not None else code
            if new_code == coding.code_id:
                raise ParameterError(
                    f"The coding already has code '{new_code}'; accept it instead of "
                    "changing its code."
                )
            before = [c for c in self.project.codings(document=coding.document_id,
                                                      code=new_code, coder=by)
                      if (c.start, c.end) == (coding.start, coding.end)]
            new_id = self.project.recode(coding_id, new_code, by=by)
            step = Decision(coding_id, "recode", coding.status, new_code, new_id,
                            before[0].status if before else None)
        else:
            (self.project.accept if action == "accept" else self.project.reject)(
                coding_id, by=by)
            step = Decision(coding_id, action, coding.status)
        self._remember(step)
        return step

    def _decided_elsewhere(self, coding: Coding) -> None:
        """Another reviewer or process decided ``coding`` after this session started: leave
        their decision as it is, set the item aside (as skipped) and say so."""
        who = next((d for d in reversed(self.project.decisions())
                    if d["coding_id"] == coding.id), None)
        by = f" by {who['by']}" if who is not None and who["by"] else ""
        self._skipped.add(coding.id)  # type: ignore[arg-type]
        self._advance(self._position if self._position is not None else -1)
        raise ParameterError(
            f"Coding {coding.id} was {coding.status}{by} after this session started; their "
            "decision is left as it is and the session has moved on. Change it on purpose "
            "with project.set_status() if it is wrong."
        )

    def skip(self) -> Decision:
        """Leave the current coding undecided (it stays suggested) and move on."""
        coding_id = self._current_id("skip")
        step = Decision(coding_id, "skip", self.project.coding(coding_id).status)
        self._remember(step)
        return step

    def _remember(self, step: Decision) -> None:
        self._history.append(step)
        self._apply_memory(step)
        at = self._position if self._position is not None else -1
        self._advance(at)

    def _apply_memory(self, step: Decision) -> None:
        if step.action == "skip":
            self._skipped.add(step.coding_id)
            self._decisions.pop(step.coding_id, None)
        else:
            self._decisions[step.coding_id] = step
            self._skipped.discard(step.coding_id)

    def undo(self) -> Decision | None:
        """Take back the last decision or skip (in the project too) and make that item
        current again. Returns what was undone, None if there was nothing."""
        if not self._history:
            return None
        step = self._history.pop()
        by = self.reviewer
        if step.action in ("accept", "reject", "recode"):
            self.project.set_status(step.coding_id, step.previous_status, by=by)
        if step.action == "recode" and step.new_coding_id is not None:
            self.project.set_status(step.new_coding_id, step.replaced_status or "rejected",
                                    by=by)
        self._decisions.pop(step.coding_id, None)
        self._skipped.discard(step.coding_id)
        for earlier in self._history:  # an earlier step on the same coding counts again
            if earlier.coding_id == step.coding_id:
                self._apply_memory(earlier)
        if step.coding_id in self._queue:
            self._position = self._queue.index(step.coding_id)
        return step

    def revisit_skipped(self) -> ReviewItem | None:
        """Bring skipped items back into the queue and go to the first of them."""
        self._skipped.clear()
        self._advance(-1)
        return self.current

    def press(self, key: str, code: str | None = None) -> Decision | None:
        """Act on a keyboard shortcut (see :data:`KEYS`); ``code`` goes with ``c``."""
        action = KEYS.get(key.lower() if isinstance(key, str) else key)
        if action is None:
            keys = ", ".join(f"{k} ({a})" for k, a in KEYS.items())
            raise parameter_error("key", "ReviewSession.press()", f"one of {keys}", key)
        if action == "undo":
            return self.undo()
        if action == "recode":
            if code is None:
                raise ParameterError("The change-code key needs the code to use: "
                                     "press('c', code='...').")
            return self.recode(code)
        return getattr(self, action)()

    # -- displays ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<ReviewSession by {self.reviewer}: {self.progress}>"

    def _repr_html_(self) -> str:
        import html

        from qualcode.display import STYLE

        item = self.current
        head = f'<div class="qc-meta">{html.escape(str(self.progress))}</div>'
        if item is None:
            return (f'{STYLE}<div class="qc qc-review-done"><b>Review done.</b>{head}</div>')
        return head + item.html()

    def summary(self) -> dict[str, Any]:
        """Counts and filters, as plain values (for logs and JSON)."""
        p = self.progress
        return {"reviewer": self.reviewer, "total": p.total, "accepted": p.accepted,
                "rejected": p.rejected, "recoded": p.recoded, "skipped": p.skipped,
                "remaining": p.remaining,
                "filters": {k: v for k, v in self.filters.items() if v is not None}}

