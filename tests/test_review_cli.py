"""`qualcode review`'s undo across sessions, through the real entry point (keys on stdin)."""

from __future__ import annotations

from pathlib import Path

import coder_data
import pytest
from cli_runner import run

import qualcode.cli.coding  # noqa: F401  (registers the commands until the lead wires it)
from qualcode.project import Project


@pytest.fixture
def study(tmp_path: Path, capsys) -> Path:
    """A project with the rules coder's suggestions on d1, none decided yet."""
    path = tmp_path / "study.qualcode"
    with Project.create(path, codebook=coder_data.CODEBOOK) as project:
        project.add_corpus(coder_data.corpus())
    run(capsys, "code", str(path), "--method", "rules", "--documents", "d1")
    return path


def review(capsys, monkeypatch, study: Path, keys: str, by: str = "alice"):
    return run(capsys, "review", str(study), "--by", by, "--order", "document", keys=keys,
               monkeypatch=monkeypatch)


def test_u_takes_back_a_decision_of_an_earlier_session(study, capsys, monkeypatch) -> None:
    review(capsys, monkeypatch, study, "a\nq\n")  # yesterday: one accepted, then quit
    with Project.open(study) as project:
        (accepted,) = project.codings(status="accepted")
        name = project.codebook.get(accepted.code_id).name
        words = project.text_of(accepted)
    code, out, _ = review(capsys, monkeypatch, study, "u\nq\n")  # today: undo first
    assert code == 0
    assert (f"Undone: accept of coding {accepted.id}, {name} [{accepted.code_id}] in "
            f'{accepted.document_id} at {accepted.start}: "{words}", decided ') in out
    assert "; it is suggested again." in out
    # its card is shown again, to decide on
    assert out.rindex(words) > out.index("Undone:")
    with Project.open(study) as project:
        assert project.coding(accepted.id).status == "suggested"


def test_u_works_when_everything_was_reviewed(study, capsys, monkeypatch) -> None:
    with Project.open(study) as project:
        total = len(project.codings(status="suggested"))
    code, out, _ = review(capsys, monkeypatch, study, "a\n" * total)
    assert code == 0 and f"{total} of {total} reviewed ({total} accepted), 0 to go." in out
    code, out, _ = review(capsys, monkeypatch, study, "u\nq\n")
    assert "No suggestions to review." in out and "Undone: accept of coding" in out
    with Project.open(study) as project:
        assert len(project.codings(status="accepted")) == total - 1
    review(capsys, monkeypatch, study, "u\n" * total + "q\n")
    code, out, _ = review(capsys, monkeypatch, study, "u\nq\n")
    assert "Nothing of yours left to undo" in out
    with Project.open(study) as project:
        assert len(project.codings(status="suggested")) == total


def test_u_refuses_a_decision_another_reviewer_changed(study, capsys, monkeypatch) -> None:
    review(capsys, monkeypatch, study, "a\nq\n")
    with Project.open(study) as project:
        (accepted,) = project.codings(status="accepted")
        project.reject(accepted.id, by="bob")
        log = project.decisions()
    code, out, _ = review(capsys, monkeypatch, study, "u\nq\n")
    assert code == 0 and f"Cannot undo your accept of coding {accepted.id}" in out
    assert "bob rejected it since" in out
    with Project.open(study) as project:
        assert project.coding(accepted.id).status == "rejected"
        assert project.decisions() == log
