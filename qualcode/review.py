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

Undo reaches past the session: once this session's steps are taken back, it takes back
the reviewer's earlier decisions as the project's review log records them, most recent
first (yesterday's last decision first), and brings each coding back into the queue to be
decided again. It never takes back another reviewer's decision, nor one of the reviewer's
own that something changed since (another reviewer decided on the same coding and did not
take it back, or its status changed without a review decision): that is refused with the
reason, the project is left as it is, and the next undo reaches the decision before it.
Each undo is one transaction. A coding a refilter left out of the queue comes back into it
when its decision is undone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from qualcode.errors import NotFoundError, ParameterError, parameter_error
from qualcode.manual import person
from qualcode.model import CODING_STATUSES, Codebook, Coding, Document, Segment, now_iso

if TYPE_CHECKING:
    from qualcode.project import Project

__all__ = ["KEYS", "ORDERS", "Decision", "Progress", "ReviewItem", "ReviewSession"]

#: Keyboard shortcuts: key -> action.
KEYS: Mapping[str, str] = {"a": "accept", "r": "reject", "c": "recode", "s": "skip",
                           "u": "undo"}
#: Orders a queue can take.
ORDERS = ("document", "confidence", "low_confidence", "code")
_ACTION_STATUS = {"accept": "accepted", "reject": "rejected", "recode": "rejected"}
# The reason Project.recode() gives the reviewer's replacement coding.
_RECODED = re.compile(r"recoded from .+ \(coding (?P<coding_id>\d+)\)")
# A replacement coding is stamped before its recode's decision is logged; the gap is the
# time the write waited for the project (Project.open's timeout is 30 s) and a little more.
_RECODE_SECONDS = 60


@dataclass(frozen=True)
class Decision:
    """One step of a session: ``action`` is accept, reject, recode or skip.

    ``previous_status`` is the coding's status before; for a recode ``new_code`` and
    ``new_coding_id`` name the reviewer's replacement and ``replaced_status`` is the status
    that replacement had before (None when it did not exist). ``at``: when it was decided
    (ISO 8601, UTC), also for a decision of an earlier session taken back by
    :meth:`ReviewSession.undo`.
    """

    coding_id: int
    action: str
    previous_status: str
    new_code: str | None = None
    new_coding_id: int | None = None
    replaced_status: str | None = None
    at: str | None = field(default=None, compare=False)

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
        _set_aside: Sequence[int] = (),
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
        # Rows of the review log whose undo was refused: the next undo reaches past them.
        self._set_aside: set[int] = set(_set_aside)
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
                             **{**self.filters, **changes}, _history=self._history,
                             _set_aside=sorted(self._set_aside))

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
            with self.project.transaction():
                before = [c for c in self.project.codings(document=coding.document_id,
                                                          code=new_code, coder=by)
                          if (c.start, c.end) == (coding.start, coding.end)]
                if before and before[0].status != "accepted":
                    # Logged (recode() would change it silently), so that a later session
                    # can set the replacement back to what it was.
                    self.project.accept(before[0].id, by=by)  # type: ignore[arg-type]
                new_id = self.project.recode(coding_id, new_code, by=by)
            step = Decision(coding_id, "recode", coding.status, new_code, new_id,
                            before[0].status if before else None, at=now_iso())
        else:
            (self.project.accept if action == "accept" else self.project.reject)(
                coding_id, by=by)
            step = Decision(coding_id, action, coding.status, at=now_iso())
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
        step = Decision(coding_id, "skip", self.project.coding(coding_id).status,
                        at=now_iso())
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
        current again. Returns what was undone, None if there was nothing.

        When this session has nothing left to take back, it takes back the reviewer's
        decisions of earlier sessions, most recent first, and brings the coding back into
        the queue. A decision another reviewer (or a change without a review decision) has
        overtaken since is not undone: :class:`~qualcode.errors.ParameterError` says why,
        nothing changes, and the next undo reaches the decision before it. The project is
        read and written in one transaction."""
        if self._history and self._history[-1].action == "skip":
            step = self._history.pop()
            self._bring_back(step)
            return step
        with self.project.transaction():  # nothing can change between the checks and writes
            log = self.project.decisions()
            stale, entry, logged = self._plan_undo(log)
            for _ in range(stale):  # taken back elsewhere: no longer this session's
                self._forget(self._history.pop())
            if entry is None and logged is None:
                return None
            if entry is not None and entry.action == "skip":
                self._history.pop()
                self._bring_back(entry)
                return entry
            step = entry or logged.decision(self.project)  # type: ignore[union-attr]
            refusal = self._refusal(step, log, logged)
            if refusal:
                if logged is not None:
                    self._set_aside.add(logged.index)
                if entry is not None:
                    self._history.pop()
                raise ParameterError(
                    f"Cannot undo your {self.describe(step)}: {refusal}. It is left as it "
                    "is; undo again to take back your decision before it."
                )
            by = self.reviewer
            if step.status is not None and step.previous_status != step.status:
                self.project.set_status(step.coding_id, step.previous_status, by=by)
            if step.action == "recode" and step.new_coding_id is not None:
                self.project.set_status(step.new_coding_id,
                                        step.replaced_status or "rejected", by=by)
        if entry is not None:
            self._history.pop()
        self._bring_back(step)
        return step

    @property
    def undoable(self) -> Decision | None:
        """What :meth:`undo` would take back now (this session's last step, else the
        reviewer's latest standing decision of an earlier session), or None."""
        if self._history and self._history[-1].action == "skip":
            return self._history[-1]
        _, entry, logged = self._plan_undo(self.project.decisions())
        return entry or (logged.decision(self.project) if logged is not None else None)

    def _plan_undo(
        self, log: Sequence[Mapping[str, Any]]
    ) -> tuple[int, Decision | None, _LoggedStep | None]:
        """What to take back: (how many of the session's last steps were taken back
        elsewhere already, the session's step to take back or None, the logged step or
        None); both None when there is nothing."""
        standing = [s for s in _ReviewerLog(self.project, self.reviewer, log).standing
                    if s.index not in self._set_aside]
        stale = 0
        for entry in reversed(self._history):
            if entry.action == "skip" or entry.previous_status == entry.status:
                # a skip, or a decision that changed nothing the log records
                return stale, entry, None
            mine = next((s for s in reversed(standing) if (
                s.coding_id, s.previous_status, s.status) == (
                entry.coding_id, entry.previous_status, entry.status)), None)
            if mine is None:  # taken back by another session of this reviewer
                stale += 1
                continue
            if mine is standing[-1]:
                return stale, entry, mine
            break  # a later decision of this reviewer (made elsewhere) goes first
        return stale, None, standing[-1] if standing else None

    def _refusal(self, step: Decision, log: Sequence[Mapping[str, Any]],
                 logged: _LoggedStep | None) -> str:
        """Why ``step`` cannot be undone ('' when it can)."""
        later = logged.superseded if logged is not None else None
        if later is None and step.new_coding_id is not None and step.at is not None:
            later = next((dict(r) for r in log if r["coding_id"] == step.new_coding_id
                          and r["by"] != self.reviewer and r["at"] >= step.at), None)
        if later is not None:
            who = later["by"] or "someone (no name logged)"
            what = ("it" if later["coding_id"] == step.coding_id
                    else f"your replacement coding {later['coding_id']}")
            done = (f"set {what} back to suggested" if later["new_status"] == "suggested"
                    else f"{later['new_status']} {what}")
            return f"{who} {done} since, on {_local_time(later['at'])}"
        coding = _get(self.project, step.coding_id)
        if coding is None:
            return f"coding {step.coding_id} is no longer in the project"
        expected = step.status or step.previous_status
        if coding.status != expected:
            return (f"it is {coding.status} now, not {expected} as you left it, and no "
                    "review decision says why (an import or another tool changed it)")
        if step.action == "recode" and step.new_coding_id is not None:
            replacement = _get(self.project, step.new_coding_id)
            if replacement is None:
                return (f"your replacement coding {step.new_coding_id} is no longer in the "
                        "project")
            if replacement.status != "accepted":
                return (f"your replacement coding {step.new_coding_id} is "
                        f"{replacement.status} now, not accepted as you left it")
        return ""

    def _bring_back(self, step: Decision) -> None:
        """``step`` was taken back: its coding is the item to decide now, joining the queue
        where a refilter or an earlier session left it out."""
        coding_id = step.coding_id
        if coding_id not in self._queue:
            self._queue.insert(self._position if self._position is not None
                               else len(self._queue), coding_id)
        self._queued_status[coding_id] = step.previous_status
        self._forget(step)
        self._position = self._queue.index(coding_id)

    def _forget(self, step: Decision) -> None:
        """Clear the session's memory of ``step``, no longer in its history."""
        self._decisions.pop(step.coding_id, None)
        self._skipped.discard(step.coding_id)
        for earlier in self._history:  # an earlier step on the same coding counts again
            if earlier.coding_id == step.coding_id:
                self._apply_memory(earlier)

    def describe(self, step: Decision, *, undone: bool = False) -> str:
        """``step`` in words: what was done to which coding (document, code, where the
        quote starts and its first words) and when, e.g. ``accept of coding 1, Attendance
        [attendance] in d1 at 38: "He was absent all week.", decided 2024-05-02 10:12``.
        ``undone=True`` says it was taken back and what the coding is now."""
        what = f"change to {step.new_code}" if step.action == "recode" else step.action
        coding = _get(self.project, step.coding_id)
        if coding is None:
            text = f"{what} of coding {step.coding_id} (no longer in the project)"
        else:
            book = self.project.codebook
            name = (book.get(coding.code_id).name if book is not None
                    and coding.code_id in book else coding.code_id)
            words = " ".join(self.project.text_of(coding).split())
            quote = words if len(words) <= 60 else words[:59] + "…"
            text = (f'{what} of coding {coding.id}, {name} [{coding.code_id}] in '
                    f'{coding.document_id} at {coding.start}: "{quote}"')
        if step.at:
            text += f", {'skipped' if step.action == 'skip' else 'decided'} " + _local_time(
                step.at)
        if not undone:
            return text
        if step.action == "skip":
            return f"Undone: {text}."
        return f"Undone: {text}; it is {step.previous_status} again."

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



@dataclass
class _LoggedStep:
    """One of the reviewer's decisions as the review log records it: its row (``index`` in
    :meth:`Project.decisions`), the change of status, and for a change of code the
    replacement and its status before (None when it was made then). ``superseded``: the
    first later decision on these codings by anyone else (filled in while reading the log).
    """

    index: int
    coding_id: int
    previous_status: str
    status: str
    at: str
    new_coding_id: int | None = None
    replaced_status: str | None = None
    superseded: dict[str, Any] | None = None

    def decision(self, project: Project) -> Decision:
        if self.new_coding_id is not None:
            replacement = _get(project, self.new_coding_id)
            return Decision(self.coding_id, "recode", self.previous_status,
                            replacement.code_id if replacement is not None else None,
                            self.new_coding_id, self.replaced_status, at=self.at)
        action = "accept" if self.status == "accepted" else "reject"
        return Decision(self.coding_id, action, self.previous_status, at=self.at)


class _ReviewerLog:
    """One reviewer's decisions read back from the review log (:meth:`Project.decisions`).

    :attr:`standing`: those not taken back, oldest first, each marked with the first later
    decision on its codings by anyone else that still stands. How the rows are read:

    - An undo is logged as the reverse change by the same person, so it cancels the step
      it takes back (another reviewer's undo cancels theirs the same way); the undo of a
      change of code also sets the replacement back, in the row just after.
    - A change of code is logged as the rejection of the suggestion, just after the
      acceptance of the replacement when that coding existed already (one step). A new
      replacement is not logged: it is known by the reason Project.recode() gives it and
      its time. The previous version of this module logged no acceptance of an existing
      replacement; such a coding is known by its status changing with no row saying so.

    The log is read once, with a dict per coding: an undo stays fast on a long log.
    """

    def __init__(self, project: Project, reviewer: str,
                 log: Sequence[Mapping[str, Any]]) -> None:
        self.project, self.reviewer, self.log = project, reviewer, log
        self._codings: dict[int, Coding | None] = {}  # read once each
        self._mine_by_words: dict[tuple[str, int, int], list[Coding]] = {}
        self._made_for: dict[int, list[Coding]] = {}  # suggestion -> replacements made
        for coding in project.codings(coder=reviewer):
            self._codings[coding.id] = coding  # type: ignore[index]
            self._mine_by_words.setdefault(_words(coding), []).append(coding)
            made = _RECODED.fullmatch(coding.reason) if coding.method == "review" else None
            if made:
                self._made_for.setdefault(int(made["coding_id"]), []).append(coding)
        self._made_by_recode = {c.id for cs in self._made_for.values() for c in cs}
        self._rows_of: dict[int, list[int]] = {}  # coding id -> its rows in the log
        for index, row in enumerate(log):
            self._rows_of.setdefault(row["coding_id"], []).append(index)
        self._standing: dict[int, _LoggedStep] = {}  # by log index, oldest first
        self._on_coding: dict[int, list[_LoggedStep]] = {}  # coding id -> standing steps
        self._owner: dict[int, _LoggedStep] = {}  # replacement -> its standing change
        self._claimed: set[int] = set()  # replacements ever linked to a change of code
        self._others: dict[int, list[int]] = {}  # coding id -> others' rows that stand
        self._read()
        for step in self._standing.values():
            later = [i for c in (step.coding_id, step.new_coding_id) if c is not None
                     for i in self._others.get(c, ()) if i > step.index]
            if later:
                step.superseded = dict(log[min(later)])
        self.standing = list(self._standing.values())

    def _coding(self, coding_id: int) -> Coding | None:
        if coding_id not in self._codings:
            self._codings[coding_id] = _get(self.project, coding_id)
        return self._codings[coding_id]

    def _read(self) -> None:
        log, me = self.log, self.reviewer
        resets: set[int] = set()  # replacements the undo just read may set back
        index = 0
        while index < len(log):
            row = log[index]
            coding_id, old, new = row["coding_id"], row["old_status"], row["new_status"]
            may_reset, resets = resets, set()
            if row["by"] != me:
                self._other(index)
            elif old == "accepted" and (coding_id in may_reset or (
                    self._rows_of[coding_id][0] == index
                    and coding_id in self._made_by_recode
                    and coding_id not in self._claimed)):
                pass  # a replacement set back by the undo of its change of code
            elif self._undoes(row):
                undone = self._on_coding[coding_id].pop()
                del self._standing[undone.index]
                self._owner.pop(undone.new_coding_id, None)  # type: ignore[arg-type]
                resets = self._replacements_of(undone)
            elif new == "suggested":  # set back to suggested, not by an undo
                self._other(index)
            elif new == "accepted" and self._replaced_then(index):
                pair = log[index + 1]  # one change of code onto an existing coding
                self._add(_LoggedStep(index + 1, pair["coding_id"], pair["old_status"],
                                      "rejected", pair["at"], coding_id, old))
                index += 1
            else:
                step = _LoggedStep(index, coding_id, old, new, row["at"])
                if new == "rejected":
                    step.new_coding_id, step.replaced_status = self._replacement(index)
                self._add(step)
            index += 1

    def _undoes(self, row: Mapping[str, Any]) -> bool:
        """Whether ``row`` (this reviewer's) reverses their latest standing step on it."""
        steps = self._on_coding.get(row["coding_id"])
        return bool(steps) and (row["old_status"], row["new_status"]) == (
            steps[-1].status, steps[-1].previous_status)  # type: ignore[index]

    def _add(self, step: _LoggedStep) -> None:
        self._standing[step.index] = step
        self._on_coding.setdefault(step.coding_id, []).append(step)
        if step.new_coding_id is not None:
            self._owner[step.new_coding_id] = step
            self._claimed.add(step.new_coding_id)

    def _other(self, index: int) -> None:
        """Someone else's decision (or this reviewer's own setting back to suggested); one
        that reverses that person's own last one on the coding cancels it."""
        row = self.log[index]
        rows = self._others.setdefault(row["coding_id"], [])
        last = self.log[rows[-1]] if rows else None
        if last is not None and last["by"] == row["by"] and (
                row["old_status"], row["new_status"]) == (last["new_status"],
                                                          last["old_status"]):
            rows.pop()
        else:
            rows.append(index)

    def _replacements_of(self, step: _LoggedStep) -> set[int]:
        """The codings the undo of ``step`` may set back in its next row: its replacement,
        or for a rejection the previous version logged without one, any of the reviewer's
        codings of the same words with another code."""
        if step.new_coding_id is not None:
            return {step.new_coding_id}
        suggestion = self._coding(step.coding_id) if step.status == "rejected" else None
        if suggestion is None:
            return set()
        return {c.id for c in self._mine_by_words.get(_words(suggestion), ())  # type: ignore[misc]
                if c.code_id != suggestion.code_id}

    def _replaced_then(self, index: int) -> bool:
        """Whether the acceptance at ``index`` and the next row were one change of code:
        the reviewer's coding of the same words accepted, then the suggestion with another
        code rejected (not as the undo of an earlier step)."""
        if index + 1 >= len(self.log):
            return False
        row = self.log[index + 1]
        if row["by"] != self.reviewer or row["new_status"] != "rejected" or self._undoes(row):
            return False
        replacement = self._coding(self.log[index]["coding_id"])
        suggestion = self._coding(row["coding_id"])
        return (replacement is not None and suggestion is not None
                and replacement.id != suggestion.id and replacement.coder == self.reviewer
                and _words(replacement) == _words(suggestion)
                and replacement.code_id != suggestion.code_id)

    def _replacement(self, index: int) -> tuple[int | None, str | None]:
        """If the rejection at ``index`` was a change of code: the replacement and its
        status before (None when it was made then); else (None, None)."""
        row = self.log[index]
        suggestion = self._coding(row["coding_id"])
        if suggestion is None:
            return None, None
        for coding in self._made_for.get(suggestion.id, ()):  # type: ignore[arg-type]
            if (coding.id not in self._claimed and _words(coding) == _words(suggestion)
                    and 0 <= _seconds(coding.created, row["at"]) <= _RECODE_SECONDS):
                return coding.id, None
        # logged by the previous version: an existing coding re-accepted with no row
        for coding in self._mine_by_words.get(_words(suggestion), ()):
            if coding.code_id == suggestion.code_id or coding.id in self._owner:
                continue
            rows = self._rows_of.get(coding.id, [])  # type: ignore[arg-type]
            before = [i for i in rows if i < index]
            after = [i for i in rows if i > index]
            if not before or self.log[before[-1]]["new_status"] == "accepted":
                continue
            if (self.log[after[0]]["old_status"] if after else coding.status) == "accepted":
                return coding.id, self.log[before[-1]]["new_status"]
        return None, None


def _words(coding: Coding) -> tuple[str, int, int]:
    return coding.document_id, coding.start, coding.end


def _get(project: Project, coding_id: int) -> Coding | None:
    try:
        return project.coding(coding_id)
    except NotFoundError:
        return None


def _seconds(earlier: str, later: str) -> float:
    """Seconds from one ISO 8601 time to another (a large number if either is unreadable)."""
    try:
        return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()
    except (TypeError, ValueError):
        return float("inf")


def _local_time(at: str) -> str:
    """An ISO 8601 time as the reader's local date and minute (as given if unreadable)."""
    try:
        return datetime.fromisoformat(at).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return at
