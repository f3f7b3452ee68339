"""The review state machine: queue, decisions written at once, undo, progress, keys."""

from __future__ import annotations

import sqlite3

import pytest
from builders import make_corpus

from qualcode.errors import NotFoundError, ParameterError, ProjectError
from qualcode.model import Code, Coding
from qualcode.project import Project
from qualcode.review import KEYS, Decision, Progress, ReviewSession


@pytest.fixture
def suggested(project):
    """Five rules suggestions over the two documents (and one accepted coding)."""
    project.add_corpus(make_corpus({"d3": "INTERVIEWER: More?\nCara: Tea and absence."}))

    def at(doc, words, code, confidence):
        text = project.documents[doc].text
        start = text.index(words)
        return Coding(doc, start, start + len(words), code, "rules", method="rules",
                      status="suggested", confidence=confidence, reason=f"matched {words!r}")

    project.add_codings([
        at("d1", "He was absent all week.", "attendance", 0.5),
        at("d1", "Mum put the kettle on.", "tea", 0.9),
        at("d2", "We went because of attendance.", "attendance", 0.7),
        at("d3", "Tea and absence.", "tea", 0.2),
        at("d3", "Tea and absence.", "attendance", 0.6),
        Coding("d2", 0, 5, "tea", "alice"),
    ])
    return project


def session(project, **kw) -> ReviewSession:
    return ReviewSession(project, reviewer="alice", **kw)


def test_queue_order_and_filters(suggested):
    assert session(suggested).queue == (1, 2, 3, 5, 4)  # document, then text order
    assert session(suggested, order="confidence").queue == (2, 3, 5, 1, 4)
    assert session(suggested, order="low_confidence").queue == (4, 1, 5, 3, 2)
    assert session(suggested, order="code").queue == (1, 3, 5, 2, 4)
    assert session(suggested, code="Hospitality").queue == (2, 4)
    assert session(suggested, code="visits").queue == (1, 2, 3, 5, 4)  # a theme
    assert session(suggested, document="d[12]").queue == (1, 2, 3)
    assert session(suggested, min_confidence=0.6).queue == (2, 3, 5)
    assert session(suggested, status="accepted").queue == (6,)
    assert session(suggested, coder="nobody").done


@pytest.mark.parametrize(("kw", "message"), [
    ({"order": "random"}, "'order' parameter"),
    ({"status": "pending"}, "'status' parameter"),
    ({"min_confidence": 2}, "'min_confidence' parameter"),
    ({"context": -1}, "'context' parameter"),
])
def test_bad_parameters(suggested, kw, message):
    with pytest.raises(ParameterError, match=message):
        session(suggested, **kw)


def test_unknown_filters_are_not_found(suggested):
    with pytest.raises(NotFoundError, match="d9"):
        session(suggested, document="d9")
    with pytest.raises(NotFoundError, match="Did you mean"):
        session(suggested, code="atendance")


def test_the_reviewer_is_needed(suggested, monkeypatch):
    monkeypatch.delenv("QUALCODE_CODER", raising=False)
    with pytest.raises(ParameterError, match="who is coding"):
        ReviewSession(suggested)
    monkeypatch.setenv("QUALCODE_CODER", "zoe")
    assert ReviewSession(suggested).reviewer == "zoe"


def test_current_item_in_context(suggested):
    item = session(suggested).current
    assert item.heading == "1 of 5" and item.text == "He was absent all week."
    assert item.segment.speaker == "Anna" and item.code_name == "Attendance"
    assert [s.index for s in item.context] == [0, 1, 2]  # one turn either side
    assert item.reason == "matched 'He was absent all week.'"
    assert "He was absent all week." in str(item) and "confidence 0.50" in str(item)
    assert repr(item) == "<ReviewItem 1 of 5: coding 1, attendance in d1 38-61>"
    card = item.html()
    assert 'data-coding-id="1"' in card and "Why did you visit?" in card
    assert [s.index for s in session(suggested, context=0).current.context] == [1]


def test_decisions_are_written_at_once(suggested):
    s = session(suggested)
    assert s.accept() == Decision(1, "accept", "suggested")
    assert suggested.coding(1).status == "accepted"
    s.reject()
    assert suggested.coding(2).status == "rejected"
    step = s.recode("Hospitality")
    assert step.new_code == "tea" and step.replaced_status is None
    replacement = suggested.coding(step.new_coding_id)
    assert (replacement.code_id, replacement.coder, replacement.status) == (
        "tea", "alice", "accepted")
    assert suggested.coding(3).status == "rejected"
    log = suggested.decisions()
    assert [(d["coding_id"], d["new_status"], d["by"]) for d in log] == [
        (1, "accepted", "alice"), (2, "rejected", "alice"), (3, "rejected", "alice")]
    # a new session (as after a crash) starts with what is still suggested
    assert session(suggested).queue == (5, 4)


def test_skip_wraps_round_and_revisit(suggested):
    s = session(suggested, document="d1")
    s.skip()
    assert s.current.coding.id == 2
    s.accept()
    assert s.done and s.current is None
    assert str(s.progress) == "1 of 2 reviewed (1 accepted), 1 skipped, 0 to go"
    assert suggested.coding(1).status == "suggested"  # skipped stays suggested
    assert s.revisit_skipped().coding.id == 1
    with pytest.raises(ParameterError, match="Nothing left"):
        s.accept(), s.accept()


def test_undo_restores_the_project_and_the_position(suggested):
    s = session(suggested)
    s.accept()
    s.recode("attendance")
    s.skip()
    assert s.position == 3
    assert s.undo().action == "skip" and s.position == 2
    undone = s.undo()
    assert undone.action == "recode" and s.position == 1
    assert suggested.coding(2).status == "suggested"
    # the replacement did not exist before: it is marked rejected, not left accepted
    assert suggested.coding(undone.new_coding_id).status == "rejected"
    assert s.undo().action == "accept" and suggested.coding(1).status == "suggested"
    assert s.position == 0 and s.undo() is None
    assert s.progress == Progress(5, 0, 0, 0, 0)


def test_undo_of_a_recode_onto_an_existing_coding(suggested):
    existing = suggested.add_codings([Coding("d1", *_span(suggested, "d1", "Mum put the "
                                                          "kettle on."), "attendance",
                                             "alice", status="rejected")])[0]
    s = session(suggested, code="tea")
    step = s.recode("attendance")
    assert step.new_coding_id == existing and step.replaced_status == "rejected"
    assert suggested.coding(existing).status == "accepted"
    s.undo()
    assert suggested.coding(existing).status == "rejected"


def test_a_decision_made_elsewhere_is_not_overwritten(suggested):
    s = session(suggested)
    with Project.open(suggested.path) as elsewhere:  # another process, another reviewer
        elsewhere.reject(1, by="bob")
    with pytest.raises(ParameterError, match="Coding 1 was rejected by bob after this"):
        s.accept()
    assert suggested.coding(1).status == "rejected"
    assert [(d["coding_id"], d["by"]) for d in suggested.decisions()] == [(1, "bob")]
    assert s.current.coding.id == 2 and s.progress.skipped == 1  # moved on
    assert s.accept().coding_id == 2
    # also when the filter takes both statuses: the change, not the status, is what counts
    both = session(suggested, status=["suggested", "rejected"], document="d3")
    with Project.open(suggested.path) as elsewhere:
        elsewhere.reject(both.current.coding.id, by="bob")
    with pytest.raises(ParameterError, match="rejected by bob"):
        both.recode("tea")


def test_recode_to_a_code_added_while_the_session_is_open(suggested):
    s = session(suggested)
    suggested.set_codebook(suggested.codebook.with_code(Code("biscuits", name="Biscuits")))
    step = s.recode("Biscuits")
    assert step.new_code == "biscuits"
    assert suggested.coding(step.new_coding_id).code_id == "biscuits"


def _span(project, doc, words):
    start = project.documents[doc].text.index(words)
    return start, start + len(words)


def test_recode_to_the_same_code_is_an_error(suggested):
    with pytest.raises(ParameterError, match="accept it instead"):
        session(suggested).recode("attendance")
    with pytest.raises(NotFoundError):
        session(suggested).recode("no_such_code")


def test_go_to_and_redecide(suggested):
    s = session(suggested)
    s.accept()
    assert s.go_to(0).decision.action == "accept"
    s.reject()
    assert suggested.coding(1).status == "rejected"
    assert s.progress.rejected == 1 and s.progress.accepted == 0
    s.undo()
    assert suggested.coding(1).status == "accepted" and s.decision(1).action == "accept"
    with pytest.raises(ParameterError, match="'position' parameter"):
        s.go_to(9)


def test_keys(suggested):
    s = session(suggested)
    assert set(KEYS) == {"a", "r", "c", "s", "u"}
    assert s.press("A").action == "accept"
    assert s.press("c", code="attendance").action == "recode"
    assert s.press("s").action == "skip"
    assert s.press("u").action == "skip"
    with pytest.raises(ParameterError, match="needs the code"):
        s.press("c")
    with pytest.raises(ParameterError, match="'key' parameter"):
        s.press("x")


def test_refilter_keeps_history(suggested):
    s = session(suggested)
    s.accept()
    narrowed = s.refilter(code="tea")
    assert narrowed.queue == (2, 4) and narrowed.history == s.history
    narrowed.undo()
    assert suggested.coding(1).status == "suggested"
    with pytest.raises(ParameterError, match="no filter 'colour'"):
        s.refilter(colour="red")


def test_progress_and_displays(suggested):
    s = session(suggested)
    s.accept()
    s.reject()
    p = s.progress
    assert (p.total, p.decided, p.remaining, p.fraction) == (5, 2, 3, 0.4)
    assert repr(s) == ("<ReviewSession by alice: 2 of 5 reviewed (1 accepted, 1 rejected), "
                       "3 to go>")
    assert "3 of 5" in s._repr_html_()
    assert s.summary()["filters"] == {"status": "suggested", "order": "document",
                                      "context": 1}
    done = session(suggested, coder="nobody")
    assert "Review done." in done._repr_html_()
    assert Progress(0, 0, 0, 0, 0).fraction == 1.0


# -- undo across sessions ----------------------------------------------------------------------


def _reopened(project) -> Project:
    """The project's file opened afresh (the open one is closed): the next day's session."""
    project.close()
    return Project.open(project.path)


def test_undo_reaches_decisions_of_an_earlier_session(suggested):
    yesterday = session(suggested)
    yesterday.accept()  # 1
    yesterday.reject()  # 2
    replacement = yesterday.recode("Hospitality").new_coding_id  # 3, to tea
    with _reopened(suggested) as project:
        today = session(project)
        assert today.queue == (5, 4)
        today.accept()  # today's own step is taken back first
        assert today.undo().coding_id == 5 and project.coding(5).status == "suggested"
        assert today.undoable.coding_id == 3
        step = today.undo()
        assert (step.action, step.coding_id, step.new_code, step.new_coding_id) == (
            "recode", 3, "tea", replacement)
        assert step.at is not None
        assert project.coding(3).status == "suggested"
        assert project.coding(replacement).status == "rejected"
        # the coding comes back into the queue, to be decided again
        assert today.queue == (3, 5, 4) and today.current.coding.id == 3
        assert today.undo() == Decision(2, "reject", "suggested")
        assert project.coding(2).status == "suggested" and today.current.coding.id == 2
        assert today.undo() == Decision(1, "accept", "suggested")
        assert [c.status for c in project.codings(coder="rules")] == ["suggested"] * 5
        assert today.undo() is None and today.undoable is None
        assert today.queue == (1, 2, 3, 5, 4) and today.progress == Progress(5, 0, 0, 0, 0)
        assert today.reject().coding_id == 1 and today.current.coding.id == 2
    with _reopened(project) as project:  # and the day after: the reject just made first
        assert session(project).undo() == Decision(1, "reject", "suggested")


def test_undo_of_an_earlier_change_of_code_onto_an_existing_coding(suggested):
    existing = suggested.add_codings([Coding("d1", *_span(suggested, "d1", "Mum put the "
                                                          "kettle on."), "attendance",
                                             "alice", status="rejected")])[0]
    session(suggested, code="tea").recode("attendance")
    with _reopened(suggested) as project:
        step = session(project).undo()
        assert (step.action, step.new_coding_id, step.replaced_status) == (
            "recode", existing, "rejected")
        assert project.coding(existing).status == "rejected"
        assert project.coding(2).status == "suggested"


def test_undo_never_takes_back_another_reviewers_decision(suggested):
    alice = session(suggested)
    alice.accept()  # 1
    alice.accept()  # 2
    bob = ReviewSession(suggested, reviewer="bob", status=["suggested", "accepted"])
    for coding_id in (2, 3):  # bob decides on 2 after alice, then on 3: the latest
        bob.go_to(bob.queue.index(coding_id))
        bob.reject()
    with _reopened(suggested) as project:
        log = project.decisions()
        today = session(project)
        with pytest.raises(ParameterError) as refused:
            today.undo()
        message = str(refused.value)
        assert message.startswith("Cannot undo your accept of coding 2, Hospitality [tea] "
                                  'in d1 at 68: "Mum put the kettle on.", decided ')
        assert "bob rejected it since, on " in message and "left as it is" in message
        assert project.decisions() == log and project.coding(2).status == "rejected"
        # the next undo reaches alice's decision before it; bob's stay as they are
        assert today.undo() == Decision(1, "accept", "suggested")
        assert today.undo() is None
        assert [project.coding(i).status for i in (1, 2, 3)] == [
            "suggested", "rejected", "rejected"]
        assert ReviewSession(project, reviewer="bob").undo().coding_id == 3


def test_undo_in_the_same_session_refuses_a_decision_made_since(suggested):
    s = session(suggested)
    s.accept()
    with Project.open(suggested.path) as elsewhere:  # another reviewer, at the same time
        elsewhere.reject(1, by="bob")
    with pytest.raises(ParameterError, match="bob rejected it since"):
        s.undo()
    assert suggested.coding(1).status == "rejected"
    assert s.undo() is None and suggested.coding(1).status == "rejected"


def _recode_by_open_coding(project):
    project.recode(1, "tea", by="open-coding")  # e.g. codes merged in open coding


def _status_set_by_another_tool(project):
    with sqlite3.connect(project.path) as con:  # no review decision logged
        con.execute("UPDATE codings SET status = 'suggested' WHERE id = 1")


def _deleted_by_another_tool(project):
    with sqlite3.connect(project.path) as con:
        con.execute("DELETE FROM codings WHERE id = 1")


@pytest.mark.parametrize(("change", "reason"), [
    (_recode_by_open_coding, "open-coding rejected it since, on "),
    (_status_set_by_another_tool, "it is suggested now, not accepted as you left it, and "
                                  "no review decision says why"),
    (_deleted_by_another_tool, "coding 1 is no longer in the project"),
])
def test_undo_refuses_a_decision_changed_since(suggested, change, reason):
    session(suggested).accept()
    path = suggested.path
    suggested.close()
    with Project.open(path) as project:
        change(project)
    with Project.open(path) as project:
        codings, log = list(project.codings()), project.decisions()
        with pytest.raises(ParameterError) as refused:
            session(project).undo()
        assert reason in str(refused.value)
        assert list(project.codings()) == codings and project.decisions() == log


def _failing_on(project, monkeypatch, coding_id):
    """Make writing ``coding_id``'s status fail, as a full disk would."""
    set_status = project.set_status

    def set_status_or_fail(ids, status, *, by=None):
        if ids == coding_id:
            raise ProjectError("Could not write to the project (disk is full); nothing was "
                               "changed.")
        return set_status(ids, status, by=by)

    monkeypatch.setattr(project, "set_status", set_status_or_fail)


@pytest.mark.parametrize("reopen", [False, True])
def test_undo_of_a_change_of_code_is_one_transaction(suggested, monkeypatch, reopen):
    s = session(suggested, code="tea")
    step = s.recode("attendance")
    log = suggested.decisions()
    project = _reopened(suggested) if reopen else suggested
    with project:
        if reopen:
            s = session(project)
        _failing_on(project, monkeypatch, step.new_coding_id)
        with pytest.raises(ProjectError, match="disk is full"):
            s.undo()
        # nothing half taken back: the suggestion stays rejected beside its replacement
        assert project.coding(2).status == "rejected"
        assert project.coding(step.new_coding_id).status == "accepted"
        assert project.decisions() == log


def test_undo_is_not_blocked_by_a_decision_its_maker_took_back(suggested):
    session(suggested).accept()  # 1
    bob = ReviewSession(suggested, reviewer="bob", status="accepted")
    bob.go_to(bob.queue.index(1))
    bob.reject()
    bob.undo()  # bob's slip, taken back: coding 1 is accepted again, as alice left it
    with _reopened(suggested) as project:
        assert session(project).undo() == Decision(1, "accept", "suggested")
        assert project.coding(1).status == "suggested"


def test_undo_of_a_change_of_code_logged_by_the_previous_version(suggested):
    # The previous version logged no row when a change of code accepted an existing coding:
    # changed to tea, undone, changed to tea again (the replacement silently re-accepted).
    replacement = suggested.recode(1, "tea", by="alice")
    suggested.set_status(1, "suggested", by="alice")
    suggested.set_status(replacement, "rejected", by="alice")
    assert suggested.recode(1, "tea", by="alice") == replacement
    with _reopened(suggested) as project:
        step = session(project).undo()
        assert (step.action, step.new_coding_id, step.replaced_status) == (
            "recode", replacement, "rejected")
        assert project.coding(1).status == "suggested"
        assert project.coding(replacement).status == "rejected"


def test_undo_button_reaches_an_earlier_session(suggested):
    pytest.importorskip("ipywidgets")
    from qualcode.widgets import review_widget

    session(suggested).accept()  # 1
    with _reopened(suggested) as project:
        widget = review_widget(project, reviewer="alice", order="document")
        assert not widget.buttons["undo"].disabled
        widget.buttons["undo"].click()
        assert project.coding(1).status == "suggested"
        assert widget.status.value.startswith("Undone: accept of coding 1, ")
        assert 'data-coding-id="1"' in widget.card.value
        assert widget.buttons["undo"].disabled


def test_undo_after_refilter_brings_the_coding_back_to_decide(suggested):
    s = session(suggested)
    s.accept()  # 1, attendance
    narrowed = s.refilter(code="tea")  # the widget's Show list
    assert narrowed.queue == (2, 4)
    assert narrowed.undo().coding_id == 1 and suggested.coding(1).status == "suggested"
    assert narrowed.current.coding.id == 1 and narrowed.queue == (1, 2, 4)
    assert narrowed.reject().coding_id == 1 and suggested.coding(1).status == "rejected"
    assert narrowed.current.coding.id == 2


def test_an_undone_change_of_code_of_the_previous_version_stays_undone(suggested):
    # The previous version logged no row when a change of code accepted the reviewer's
    # existing coding of the same words, only the row setting it back when undone.
    words = _span(suggested, "d1", "He was absent all week.")
    existing = suggested.add_codings([Coding("d1", *words, "tea", "alice",
                                             status="rejected")])[0]
    assert suggested.recode(1, "tea", by="alice") == existing  # silently accepted
    suggested.set_status(1, "suggested", by="alice")  # the undo, in that session
    suggested.set_status(existing, "rejected", by="alice")
    with _reopened(suggested) as project:
        assert session(project).undo() is None
        assert project.coding(existing).status == "rejected"
        assert project.coding(1).status == "suggested"


def test_a_step_taken_back_in_another_window_is_forgotten(suggested):
    first, second = session(suggested), session(suggested)  # alice, in two windows
    first.accept()  # 1
    assert second.undo().coding_id == 1 and suggested.coding(1).status == "suggested"
    assert first.undo() is None
    assert first.decision(1) is None and first.progress.accepted == 0
    assert first.history == ()
