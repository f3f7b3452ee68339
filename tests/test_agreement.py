"""Agreement statistics against hand-computed tables, and agreement between coders of a
project on segments (the overlap rule, themes, missing documents, machines)."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from builders import make_corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from qualcode.analysis.agreement import (
    agreement,
    agreement_from_codings,
    cohen_kappa,
    krippendorff_alpha,
    percent_agreement,
    select_documents,
)
from qualcode.errors import NotFoundError, ParameterError
from qualcode.model import Code, Codebook, Coding
from qualcode.project import Project

nan = math.nan

# Each case: coder A, coder B, then percent agreement, Cohen's kappa and Krippendorff's alpha
# worked out by hand. Kappa = (p_o - p_e) / (1 - p_e). For two coders and binary values,
# alpha = 1 - (n - 1) * o_01 / (n_0 * n_1), with n the pairable values, o_01 the
# disagreeing units and n_0, n_1 the pairable 0s and 1s.
HAND_TABLES = [
    pytest.param(  # p_o 8/10, p_e .3*.3 + .7*.7 = .58; n 20, n_1 6, n_0 14, o_01 2
        [1, 1, 1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0, 0, 0, 0],
        Fraction(4, 5), Fraction(11, 21), Fraction(23, 42), id="two-disagreements",
    ),
    pytest.param(
        [1, 0, 1, 0, 0], [1, 0, 1, 0, 0], Fraction(1), Fraction(1), Fraction(1), id="perfect",
    ),
    pytest.param(  # p_o .5 = p_e .5; n 8, n_1 4, n_0 4, o_01 2: 1 - 7*2/16
        [1, 1, 0, 0], [1, 0, 1, 0], Fraction(1, 2), Fraction(0), Fraction(1, 8), id="chance",
    ),
    pytest.param(  # p_o 0, p_e .5; o_01 4: 1 - 7*4/16
        [1, 0, 1, 0], [0, 1, 0, 1], Fraction(0), Fraction(-1), Fraction(-3, 4),
        id="systematic-disagreement",
    ),
    pytest.param(  # B never uses it: p_o 3/5 = p_e; n 10, n_1 2, n_0 8, o_01 2: 1 - 9*2/16
        [1, 1, 0, 0, 0], [0, 0, 0, 0, 0], Fraction(3, 5), Fraction(0), Fraction(-1, 8),
        id="one-coder-never-uses-it",
    ),
    pytest.param(  # pairable units 0, 1, 2, 5: A 1011, B 1001; p_o 3/4, p_e 3/8 + 1/8;
        # n 8, n_1 5, n_0 3, o_01 1: 1 - 7/15
        [1, 0, 1, nan, 0, 1], [1, 0, 0, 1, nan, 1], Fraction(3, 4), Fraction(1, 2),
        Fraction(8, 15), id="missing-values",
    ),
]


@pytest.mark.parametrize(("a", "b", "percent", "kappa", "alpha"), HAND_TABLES)
def test_statistics_match_hand_computed_tables(a, b, percent, kappa, alpha) -> None:
    assert percent_agreement(a, b) == pytest.approx(float(percent))
    assert cohen_kappa(a, b) == pytest.approx(float(kappa))
    assert krippendorff_alpha([a, b]) == pytest.approx(float(alpha))


def test_kappa_and_alpha_are_undefined_when_neither_coder_uses_a_code() -> None:
    never = [0, 0, 0, 0]
    assert percent_agreement(never, never) == 1.0
    assert cohen_kappa(never, never) is None
    assert krippendorff_alpha([never, never]) is None
    assert cohen_kappa([nan, 1], [1, nan]) is None  # no unit coded by both


def test_alpha_with_three_coders_and_missing_values_by_hand() -> None:
    # Coincidences: o_11 = 3 + 1 + 2, o_00 = 3 + 2, o_01 = o_10 = 1 (unit 2, weight 1/2 each
    # way, twice); n = 13, n_1 = 7, n_0 = 6: alpha = 1 - 12 * 1 / 42 = 5/7.
    data = [[1, 1, 0, 0, nan], [1, 0, 0, nan, 1], [1, 1, 0, 0, 1]]
    assert krippendorff_alpha(data) == pytest.approx(5 / 7)


def test_alpha_reproduces_krippendorffs_published_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal: 0.743.
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=2, max_size=40))
def test_kappa_equals_scikit_learns_where_defined(pairs) -> None:
    from sklearn.metrics import cohen_kappa_score

    a, b = zip(*pairs, strict=True)
    ours = cohen_kappa(a, b)
    if len(set(a) | set(b)) == 1:
        assert ours is None
    else:
        assert ours == pytest.approx(cohen_kappa_score(a, b))


# -- on a project ------------------------------------------------------------------------------
CODEBOOK = Codebook("study", (
    Code("visits", name="Visits"),
    Code("attendance", name="Attendance", parent="visits"),
    Code("illness", name="Illness", parent="visits"),
    Code("home", name="Home"),
    Code("tea", name="Hospitality", parent="home"),
    Code("pets", name="Pets", parent="home"),
))
LINES = [
    "Anna: He was absent all week.",
    "Anna: Mum put the kettle on.",
    "Anna: The dog barked at us.",
    "Anna: She had the flu again.",
    "Anna: We talked about school.",
    "Anna: Nothing else happened.",
]


@pytest.fixture
def study(tmp_path: Path):
    corpus = make_corpus({"a": "\n".join(LINES), "b": "\n".join(LINES[:3])})
    project = Project.create(tmp_path / "agree.qualcode", codebook=CODEBOOK)
    project.add_corpus(corpus)
    yield project
    project.close()


def mark(project: Project, document: str, turn: int, code: str, coder: str, *,
         method: str = "manual", status: str = "accepted", part: slice = slice(None)
         ) -> Coding:
    """A coding of (part of) a turn; ``part`` slices the turn's characters."""
    segment = project.segments(document=document)[turn]
    start, end, _ = part.indices(segment.end - segment.start)
    return Coding(document, segment.start + start, segment.start + end, code, coder,
                  method=method, status=status)


def test_per_code_and_overall_agreement_on_segments(study: Project) -> None:
    study.add_codings([
        mark(study, "a", 0, "attendance", "alice"), mark(study, "a", 0, "attendance", "bob"),
        mark(study, "a", 1, "tea", "alice"), mark(study, "a", 1, "tea", "bob", part=slice(3, 6)),
        mark(study, "a", 2, "pets", "alice"), mark(study, "a", 3, "illness", "bob"),
        mark(study, "b", 0, "attendance", "alice"), mark(study, "b", 0, "attendance", "bob"),
    ])
    result = agreement(study, ["alice", "bob"])
    assert result.unit == "turn" and result.segments == 9
    assert "turn segments" in result.unit_description
    assert "overlaps the segment" in result.unit_description
    assert [c.code for c in result.codes] == ["attendance", "illness", "tea", "pets"]
    attendance = result["attendance"]
    assert (attendance.units, attendance.both, attendance.kappa) == (9, 2, 1.0)
    assert dict(attendance.present) == {"alice": 2, "bob": 2}
    tea = result["tea"]  # a part of the turn is enough: present in that segment
    assert tea.kappa == 1.0
    pets = result["pets"]  # alice once, bob never: p_o 8/9 = p_e, kappa 0
    assert pets.kappa == pytest.approx(0.0)
    assert pets.percent_agreement == pytest.approx(8 / 9)
    # Pooled over 9 segments x 4 codes: 34 agreements of 36; alice 4 ones, bob 4 ones.
    p_o, p_e = 34 / 36, (4 / 36) * (4 / 36) + (32 / 36) * (32 / 36)
    assert result.pooled.decisions == 36
    assert result.pooled.kappa == pytest.approx((p_o - p_e) / (1 - p_e))
    assert result.pooled.percent_agreement == pytest.approx(p_o)
    kappas = [1.0, result["illness"].kappa, 1.0, 0.0]
    assert result.macro.kappa == pytest.approx(np.mean(kappas))
    assert (result.macro.codes, result.macro.of) == (4, 4)


def test_codes_neither_coder_used_are_undefined_not_one_or_zero(study: Project) -> None:
    study.add_codings([mark(study, "a", 0, "attendance", "alice"),
                       mark(study, "a", 0, "attendance", "bob")])
    result = agreement(study, ["alice", "bob"])
    for code in ("illness", "tea", "pets"):
        assert result[code].kappa is None and result[code].alpha is None
        assert "no coder used it" in result[code].note
    assert (result.macro.codes, result.macro.of, result.macro.kappa) == (1, 4, 1.0)
    frame = result.to_frame()
    assert frame.set_index("code").loc["tea", "kappa"] != frame.set_index("code").loc[
        "tea", "kappa"]  # NaN in the frame
    assert result.to_dict()["codes"][1]["kappa"] is None


def test_theme_is_present_when_any_of_its_codes_is(study: Project) -> None:
    study.add_codings([
        mark(study, "a", 0, "attendance", "alice"), mark(study, "a", 0, "illness", "bob"),
        mark(study, "a", 1, "tea", "alice"), mark(study, "a", 1, "pets", "bob"),
    ])
    by_code = agreement(study, ["alice", "bob"])
    by_theme = agreement(study, ["alice", "bob"], level="theme")
    assert by_code["attendance"].kappa == pytest.approx(0.0)
    assert [c.code for c in by_theme.codes] == ["visits", "home"]
    assert by_theme["visits"].kappa == 1.0 and by_theme["home"].kappa == 1.0
    assert "one of its codes" in by_theme.unit_description


def test_documents_a_coder_did_not_code_are_missing_unless_said_absent(study: Project) -> None:
    study.add_codings([
        mark(study, "a", 0, "attendance", "alice"), mark(study, "a", 0, "attendance", "bob"),
        mark(study, "b", 1, "tea", "alice"),  # bob never coded document b
    ])
    missing = agreement(study, ["alice", "bob"])
    assert missing["attendance"].units == 6 and missing["tea"].units == 6
    assert any("bob has no codings in 1 of 2 documents (b)" in n for n in missing.notes)
    absent = agreement(study, ["alice", "bob"], uncoded_documents="absent")
    assert absent["tea"].units == 9 and absent["tea"].kappa == pytest.approx(0.0)


def test_methods_text_counts_only_segments_two_coders_coded(study: Project) -> None:
    # bob never coded document b (3 turns): the figures rest on the 6 turns of a, and the
    # sentence pasted into a paper must not claim all 9.
    study.add_codings([mark(study, "a", 0, "tea", "alice"), mark(study, "a", 0, "tea", "bob"),
                       mark(study, "b", 1, "tea", "alice")])
    result = agreement(study, ["alice", "bob"])
    assert result.segments == 9 and result["tea"].units == 6
    assert "assessed on the 6 of 9 turns coded by at least two coders of 2 documents" in (
        result.methods_text())
    full = agreement(study, ["alice", "bob"], uncoded_documents="absent")
    assert "assessed on 9 turns of 2 documents" in full.methods_text()


def test_machine_suggestions_count_whatever_their_status(study: Project) -> None:
    study.add_codings([
        mark(study, "a", 0, "attendance", "alice"),
        mark(study, "a", 1, "tea", "alice"),
        mark(study, "a", 4, "tea", "alice", status="rejected"),  # a person's rejected: out
        mark(study, "a", 0, "attendance", "rules", method="rules", status="rejected"),
        mark(study, "a", 1, "tea", "rules", method="rules", status="suggested"),
    ])
    result = agreement(study, ["alice", "rules"])
    assert result["attendance"].kappa == 1.0 and result["tea"].kappa == 1.0
    assert "machine" in result.counted["rules"] and "accepted" in result.counted["alice"]
    suggested = agreement(study, ["alice", "rules"], statuses={"rules": ["suggested"]})
    assert suggested.counted["rules"] == "suggested codings"
    assert suggested["attendance"].kappa == pytest.approx(0.0)


def test_three_coders_use_lights_kappa_and_one_alpha(study: Project) -> None:
    study.add_codings([
        mark(study, "a", t, "attendance", coder)
        for coder, turns in (("alice", [0, 1]), ("bob", [0, 1]), ("carol", [0]))
        for t in turns
    ])
    result = agreement(study, ["alice", "bob", "carol"], codes=["attendance"])
    assert "Light's kappa" in result.kappa_name
    # Pairs alice-bob (identical: 1), alice-carol and bob-carol (the same table each).
    with_carol = cohen_kappa([1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0])
    assert result["attendance"].kappa == pytest.approx((1.0 + 2 * with_carol) / 3)
    assert len(result.pairs) == 3
    values = [[1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]]
    assert result["attendance"].alpha == pytest.approx(krippendorff_alpha(values))


def test_a_coding_spanning_two_segments_counts_in_both(study: Project) -> None:
    first, second = study.segments(document="a")[:2]
    study.add_codings([
        Coding("a", first.start + 5, second.start + 3, "tea", "alice"),
        Coding("a", first.start, first.end, "tea", "bob"),
        Coding("a", second.start, second.end, "tea", "bob"),
    ])
    assert agreement(study, ["alice", "bob"])["tea"].kappa == 1.0


def test_undefined_kappa_of_three_coders_gives_the_true_reason(study: Project) -> None:
    # alice coded document a only, bob a and b, carol b only. alice-bob share a, where both
    # marked every turn; bob-carol share b, where neither marked it; alice-carol share
    # nothing. No pair has a kappa, yet bob did not mark every segment: he left b unmarked.
    a_turns = range(len(study.segments(document="a")))
    study.add_codings([
        *(mark(study, "a", t, "tea", coder) for coder in ("alice", "bob") for t in a_turns),
        mark(study, "b", 0, "pets", "bob"), mark(study, "b", 0, "pets", "carol"),
    ])
    tea = agreement(study, ["alice", "bob", "carol"])["tea"]
    assert tea.kappa is None and tea.present == {"alice": 6, "bob": 6, "carol": 0}
    assert "every coder marked every segment" not in tea.note
    assert tea.note == ("kappa undefined: each pair of coders shares no segment or gave all "
                        "the segments it shares one and the same value")
    # Two coders who marked everything they both coded: the reason is that.
    both = agreement(study, ["alice", "bob"], documents="a")["tea"]
    assert both.kappa is None and both.note == "kappa undefined: every coder marked every segment"


def test_an_empty_coding_marks_no_segment(study: Project) -> None:
    # An empty span (start == end, e.g. from a REFI-QDA export) shares no character with a
    # segment: it is reported as overlapping none, and must not count as presence either.
    segment = study.segments(document="a")[0]
    middle = (segment.start + segment.end) // 2
    study.add_codings([Coding("a", middle, middle, "tea", "alice"),
                       mark(study, "a", 1, "pets", "alice"), mark(study, "a", 1, "pets", "bob")])
    result = agreement(study, ["alice", "bob"], documents="a")
    assert result["tea"].present == {"alice": 0, "bob": 0}
    assert result["tea"].percent_agreement == 1.0
    assert any("1 codings by alice overlap no turn segment" in n for n in result.notes)


def test_reports_are_json_ready_and_state_the_unit(study: Project) -> None:
    study.add_codings([mark(study, "a", 0, "attendance", "alice"),
                       mark(study, "a", 2, "attendance", "bob")])
    result = agreement(study, ["alice", "bob"], documents="a")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["unit"] == "turn" and "overlaps" in data["unit_description"]
    assert set(data["overall"]) == {"pooled", "macro"}
    assert {"percent_agreement", "kappa", "alpha", "decisions"} <= set(data["overall"]["pooled"])
    assert data["documents"] == ["a"] and data["coders"] == ["alice", "bob"]
    assert "turn segments" in result._repr_html_() and "<table>" in result._repr_html_()
    assert "Unit: turn segments" in str(result)
    assert "overlapped the turn" in result.methods_text()
    frame = result.to_frame()
    assert list(frame.columns[:6]) == ["code", "name", "theme", "units", "present_alice",
                                       "present_bob"]


@pytest.mark.parametrize(
    ("coders", "kwargs", "error", "message"),
    [
        (["alice"], {}, ParameterError, "at least two coders"),
        (["alice", "zed"], {}, NotFoundError, "No codings by coder 'zed'"),
        (["alice", "bob"], {"level": "category"}, ParameterError, "'level' parameter"),
        (["alice", "bob"], {"unit": "page"}, ParameterError, "'unit' parameter"),
        (["alice", "bob"], {"documents": "c*"}, NotFoundError, r"No document matches 'c\*'"),
        (["alice", "bob"], {"unit": "sentence"}, ParameterError, "no sentence segments"),
    ],
)
def test_bad_requests_are_clear_errors(study: Project, coders, kwargs, error, message) -> None:
    study.add_codings([mark(study, "a", 0, "attendance", "alice"),
                       mark(study, "a", 0, "attendance", "bob")])
    with pytest.raises(error, match=message):
        agreement(study, coders, **kwargs)


def test_agreement_from_codings_without_a_project(study: Project) -> None:
    segments = study.segments()
    alice = [mark(study, "a", 0, "tea", "alice")]
    bob = [mark(study, "a", 0, "tea", "bob"), mark(study, "a", 1, "other", "bob")]
    result = agreement_from_codings(segments, {"alice": alice, "bob": bob})
    assert [c.code for c in result.codes] == ["tea", "other"]
    assert result["tea"].kappa == 1.0 and result["other"].kappa == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, ["P1_x", "P2_y", "P10_z"]),
        ("P1_x", ["P1_x"]),
        ("P1_*", ["P1_x"]),
        ("P1*", ["P1_x", "P10_z"]),
        ("P10_z, P[12]_*", ["P1_x", "P2_y", "P10_z"]),
        (["P2_y", "P1_x"], ["P1_x", "P2_y"]),
    ],
)
def test_select_documents_by_id_or_glob(spec, expected) -> None:
    assert select_documents(["P1_x", "P2_y", "P10_z"], spec) == expected


def test_select_documents_names_what_matched_nothing() -> None:
    with pytest.raises(NotFoundError, match=r"'P3_x' \(did you mean 'P1_x'"):
        select_documents(["P1_x", "P2_y"], "P1_x,P3_x")
