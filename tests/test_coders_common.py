"""One conformance suite, run over every coder (scikit-learn's test_common.py habit).

The contract: __init__ only stores keyword arguments; get_params returns them; fit
returns the coder and sets trailing-underscore attributes; suggest never changes the coder;
confidences lie in [0, 1]; every suggestion has a reason; results are deterministic.
"""

from __future__ import annotations

import inspect
import pickle

import coder_data
import pytest

from qualcode.coders import (
    CODERS,
    BaseCoder,
    Suggestion,
    TrainingData,
    coder_class,
    coder_names,
    get_coder,
)
from qualcode.errors import NotFoundError, ParameterError

# Parameters that make each coder work on the tiny study (min_examples: 3 per code).
PARAMS = {
    "rules": {},
    "semantic": {"threshold": 0.35},
    "supervised": {"min_examples": 2, "cv": 3},
    "auto": {"min_examples": 2, "supervised_params": {"cv": 3}},
}
NEEDS_MODEL = {"semantic", "supervised", "auto"}


def coder_cases() -> list:
    return [
        pytest.param(name, id=name, marks=[pytest.mark.slow] if name in NEEDS_MODEL else [])
        for name in sorted(CODERS)
    ]


def fitted(name: str) -> BaseCoder:
    data = TrainingData(tuple(coder_data.segments()), tuple(coder_data.codings()))
    return get_coder(name, **PARAMS[name]).fit(data, coder_data.CODEBOOK)


@pytest.fixture(scope="module")
def fitted_coders() -> dict[str, BaseCoder]:
    return {}


def get_fitted(cache: dict[str, BaseCoder], name: str) -> BaseCoder:
    if name not in cache:
        cache[name] = fitted(name)
    return cache[name]


def test_registry_lists_every_coder() -> None:
    assert coder_names() == ["auto", "rules", "semantic", "supervised"]


def test_unknown_coder_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match=r"No coder named 'rule'\. Did you mean 'rules'\?"
                       r" Known coders: auto, rules, semantic, supervised\."):
        get_coder("rule")


def test_unknown_parameter_names_the_valid_ones() -> None:
    with pytest.raises(ParameterError, match=r"has no parameter 'treshold'.*threshold"):
        get_coder("semantic", treshold=0.5)


@pytest.mark.parametrize("name", sorted(CODERS))
def test_init_only_stores_keyword_arguments(name: str) -> None:
    cls = coder_class(name)
    signature = inspect.signature(cls.__init__)
    assert all(p.kind is p.KEYWORD_ONLY for n, p in signature.parameters.items()
               if n != "self")
    coder = cls()
    assert vars(coder) == coder.get_params()
    assert not coder.fitted
    # No validation in __init__: nonsense is stored as given and refused by fit.
    first = next(iter(coder.get_params()))
    odd = cls(**{first: object()})
    assert odd.get_params()[first] is not None


@pytest.mark.parametrize("name", sorted(CODERS))
def test_get_params_clone_and_repr(name: str) -> None:
    coder = get_coder(name, **PARAMS[name])
    params = coder.get_params()
    assert set(params) == set(coder_class(name)._param_names())
    clone = coder.clone()
    assert clone is not coder and clone.get_params() == params
    assert repr(coder).startswith(type(coder).__name__ + "(")
    with pytest.raises(ParameterError, match="has no parameter 'nope'"):
        coder.clone().set_params(nope=1)


@pytest.mark.parametrize("name", sorted(CODERS))
def test_suggest_before_fit_is_an_error(name: str) -> None:
    with pytest.raises(ParameterError, match="not fitted yet"):
        get_coder(name).suggest(coder_data.segments())


@pytest.mark.parametrize("name", coder_cases())
def test_fit_returns_self_and_sets_trailing_underscore_attributes(
    name: str, fitted_coders: dict[str, BaseCoder]
) -> None:
    coder = get_coder(name, **PARAMS[name])
    before = set(vars(coder))
    data = TrainingData(tuple(coder_data.segments()), tuple(coder_data.codings()))
    assert coder.fit(data, coder_data.CODEBOOK) is coder
    learned = set(vars(coder)) - before
    assert learned and all(k.endswith("_") and not k.startswith("_") for k in learned)
    assert {"codebook_", "codes_", "report_"} <= learned
    assert coder.get_params() == get_coder(name, **PARAMS[name]).get_params()
    fitted_coders[name] = coder


@pytest.mark.parametrize("name", coder_cases())
def test_suggest_does_not_mutate_the_coder(name: str, fitted_coders) -> None:
    coder = get_fitted(fitted_coders, name)
    state = pickle.dumps(vars(coder))
    coder.suggest(coder_data.segments())
    assert pickle.dumps(vars(coder)) == state


@pytest.mark.parametrize("name", coder_cases())
def test_suggestions_are_well_formed(name: str, fitted_coders) -> None:
    coder = get_fitted(fitted_coders, name)
    segments = coder_data.segments()
    suggestions = coder.suggest(segments)
    assert suggestions, f"{name} suggested nothing on the tiny study"
    keys = {s.key for s in segments}
    for s in suggestions:
        assert isinstance(s, Suggestion)
        assert 0.0 <= s.confidence <= 1.0
        assert s.reason.strip()
        assert s.code_id in coder.codes_
        assert s.method in ("rules", "semantic", "supervised")
        assert s.coder == coder.name == name
        assert s.segment.key in keys
    assert len({(s.segment.key, s.code_id) for s in suggestions}) == len(suggestions)


@pytest.mark.parametrize("name", coder_cases())
def test_suggestions_are_deterministic(name: str, fitted_coders) -> None:
    coder = get_fitted(fitted_coders, name)
    segments = coder_data.segments()
    first = coder.suggest(segments)
    assert coder.suggest(segments) == first
    if name == "rules":  # cheap enough to refit
        assert fitted(name).suggest(segments) == first


@pytest.mark.parametrize("name", coder_cases())
def test_interviewer_turns_are_not_coded_by_default(name: str, fitted_coders) -> None:
    coder = get_fitted(fitted_coders, name)
    suggestions = coder.suggest(coder_data.segments())
    assert all(s.segment.role != "interviewer" for s in suggestions)


@pytest.mark.parametrize("name", coder_cases())
def test_no_segments_no_suggestions(name: str, fitted_coders) -> None:
    assert get_fitted(fitted_coders, name).suggest([]) == []


@pytest.mark.parametrize("name", coder_cases())
def test_suggest_refuses_things_that_are_not_segments(name: str, fitted_coders) -> None:
    with pytest.raises(ParameterError, match="iterable of Segment"):
        get_fitted(fitted_coders, name).suggest(["He was absent."])


@pytest.mark.parametrize("name", coder_cases())
def test_fit_report_names_a_method_or_a_reason_for_each_code(name: str, fitted_coders) -> None:
    report = get_fitted(fitted_coders, name).report_
    assert set(report.methods) | set(report.skipped) >= {"attendance", "tea", "dogs"}
    assert str(report).startswith(name)
    assert list(report.to_frame().columns[:3]) == ["code", "method", "skipped"]


def test_a_suggestion_from_checked_values_equals_one_made_with_checks() -> None:
    from dataclasses import fields

    from qualcode.model import Document, Segment

    segment = Segment.of(Document("d", "We visited."), 0, 11, kind="paragraph")
    row = (segment, "visit", 0.5, 'matched "visited" (keyword: visit)', "rules", "rules1")
    made = Suggestion.from_checked(row)
    assert made == Suggestion(*row)
    assert list(vars(made)) == [f.name for f in fields(Suggestion)]
