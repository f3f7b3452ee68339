"""code_project: suggestions stored in batches, reruns, interruptions, bad input."""

from __future__ import annotations

import pickle
from pathlib import Path

import coder_data
import pytest

from qualcode.coders import rules
from qualcode.coders.rules import RulesCoder
from qualcode.coding import CodingRun, code_project
from qualcode.errors import NotFoundError, ParameterError
from qualcode.model import Code
from qualcode.project import Project


@pytest.fixture
def study(tmp_path: Path):
    project = Project.create(tmp_path / "study.qualcode", codebook=coder_data.CODEBOOK)
    project.add_corpus(coder_data.corpus())
    yield project
    project.close()


def test_rules_suggestions_are_stored_as_suggested(study: Project) -> None:
    run = code_project(study, "rules")
    assert isinstance(run, CodingRun)
    assert run.coder == "rules" and run.method == "rules"
    assert run.segments == 18 and run.skipped == 0
    stored = study.codings(coder="rules")
    assert run.stored == len(stored) == sum(run.by_code.values()) > 0
    assert run.by_method == {"rules": run.stored}
    assert {c.status for c in stored} == {"suggested"}
    assert all(c.reason.startswith("matched ") and 0 < c.confidence <= 1 for c in stored)
    assert {c.document_id for c in stored} == {"d1", "d2", "d3"}
    assert run.to_dict()["report"]["methods"]["tea"] == "rules"
    assert list(run.to_frame().columns) == ["code", "method", "suggestions"]


def test_a_rerun_skips_what_was_coded_and_keeps_decisions(study: Project) -> None:
    first = code_project(study, "rules", coder="machine")
    decided = study.codings(coder="machine")[0]
    study.reject(decided.id, by="alice")
    again = code_project(study, "rules", coder="machine")
    assert again.stored == 0
    assert again.skipped == first.coded_segments
    assert study.coding(decided.id).status == "rejected"
    assert len(study.codings(coder="machine")) == first.stored


def test_a_code_added_after_a_run_is_suggested_on_segments_coded_before(
        study: Project) -> None:
    first = code_project(study, "rules", coder="machine")
    decided = study.codings(coder="machine")[0]
    study.reject(decided.id, by="alice")
    study.set_codebook(study.codebook.with_code(
        Code("small_talk", name="Small talk", parent="visits", keywords=("weather", "dog"))))
    again = code_project(study, "rules", coder="machine")
    # the weather line was never coded; the two dog lines were (as dogs) in the first run
    assert again.by_code == {"small_talk": 3}
    assert again.skipped == first.coded_segments
    assert study.coding(decided.id).status == "rejected"
    assert len(study.codings(coder="machine")) == first.stored + 3
    assert code_project(study, "rules", coder="machine").stored == 0


def test_documents_by_id_and_glob(study: Project) -> None:
    run = code_project(study, "rules", documents="d1, d3")
    assert run.documents == ("d1", "d3")
    assert {c.document_id for c in study.codings(coder="rules")} <= {"d1", "d3"}
    assert code_project(study, "rules", coder="r2", documents=["d*"]).documents == (
        "d1", "d2", "d3")
    with pytest.raises(NotFoundError, match="d9"):
        code_project(study, "rules", documents="d9")


class FailsOnSecondBatch(RulesCoder):
    """A rules coder that dies after its first batch (an interrupted run). It changes
    ``suggest``, so code_project asks it batch by batch, not through ``suggest_each``."""

    calls = 0

    def suggest(self, segments, *, cache=None):
        type(self).calls += 1
        if type(self).calls == 2:
            raise KeyboardInterrupt
        return super().suggest(segments, cache=cache)


class InterruptedAfterFirstBatch(RulesCoder):
    """A rules coder interrupted after its first batch, working ahead in 2 processes."""

    def suggest_each(self, batches, *, cache=None):
        for k, suggestions in enumerate(super().suggest_each(batches, cache=cache)):
            if k == 1:
                raise KeyboardInterrupt
            yield suggestions


@pytest.mark.parametrize("interrupted", [FailsOnSecondBatch, InterruptedAfterFirstBatch])
def test_an_interrupted_run_keeps_whole_batches_and_resumes(
        study: Project, interrupted: type[RulesCoder], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "_BATCH", 1)  # one text a job: workers run ahead
    FailsOnSecondBatch.calls = 0
    with pytest.raises(KeyboardInterrupt):
        code_project(study, interrupted(n_jobs=2), coder="machine", batch_size=1)
    kept = study.codings(coder="machine")
    assert {c.document_id for c in kept} == {"d1"}  # one document per batch: d1 only
    resumed = code_project(study, "rules", coder="machine", batch_size=1)
    assert resumed.skipped == len({(c.start, c.end) for c in kept})
    full = code_project(study, "rules", coder="fresh")
    assert len(study.codings(coder="machine")) == full.stored


def test_a_configured_coder_object_and_params(study: Project) -> None:
    run = code_project(study, RulesCoder(negation="remove"), negation="ignore")
    assert run.report is not None and run.coder == "rules"
    never = [c for c in study.codings(coder="rules") if c.document_id == "d2"
             and c.code_id == "tea"]
    assert never  # "I never accept a cup of tea": negation ignored, as asked


def test_a_fitted_coder_is_used_as_it_is(study: Project) -> None:
    # fitted on a codebook without "dogs", then pickled (as for use in a new process)
    fitted = RulesCoder().fit(None, codebook=study.codebook.without_code("dogs"))
    run = code_project(study, pickle.loads(pickle.dumps(fitted)))
    assert run.stored > 0 and "dogs" not in run.by_code
    assert run.report is not None and "dogs" not in run.report.methods
    unfitted = RulesCoder()
    assert "dogs" in code_project(study, unfitted, coder="fresh").by_code
    assert not unfitted.fitted  # a copy was fitted: the object given is left as it was


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"method": "magic"}, NotFoundError, "No coder named 'magic'"),
        ({"method": "rules", "learn_from": "alice"}, ParameterError,
         "does not learn from codings"),
        ({"method": "rules", "batch_size": 0}, ParameterError,
         "'batch_size' parameter of code_project()"),
        ({"method": "rules", "threshold": 0.3}, ParameterError,
         "rules coder has no parameter 'threshold'"),
    ],
)
def test_bad_arguments(study: Project, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        code_project(study, **kwargs)


def test_an_empty_project_or_one_without_codebook(tmp_path: Path) -> None:
    with (
        Project.create(tmp_path / "empty.qualcode", codebook=coder_data.CODEBOOK) as p,
        pytest.raises(ParameterError, match="has no documents yet"),
    ):
        code_project(p, "rules")
    with Project.create(tmp_path / "nobook.qualcode") as p:
        p.add_corpus(coder_data.corpus())
        with pytest.raises(ParameterError, match="has no codebook"):
            code_project(p, "rules")


def test_a_path_is_opened_and_closed(study: Project) -> None:
    run = code_project(str(study.path), "rules", progress=lambda done, total: None)
    assert run.project == str(study.path) and run.stored > 0


@pytest.mark.slow
def test_auto_learns_from_a_person_and_says_which_method_made_each(study: Project) -> None:
    study.add_codings(coder_data.codings("alice"))
    run = code_project(study, "auto", learn_from="alice", min_examples=3,
                       supervised_params={"cv": 3})
    assert run.report is not None
    assert set(run.report.methods.values()) == {"supervised"}
    assert set(run.by_method) == {"supervised"}
    # A code without examples goes to the semantic coder (the codebook describes it).
    code_project(study, "auto", coder="auto2", learn_from="alice", min_examples=4)
    methods = {c.method for c in study.codings(coder="auto2")}
    assert methods == {"semantic"}
