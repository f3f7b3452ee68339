"""Tables and figures: frequencies by attribute, the case matrix and co-occurrence, each
checked against counts worked out by hand on the export test project (see
export_builders.py); LaTeX (booktabs), heatmaps and the overwrite rule."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from export_builders import build_project

from qualcode.errors import ParameterError
from qualcode.export.figures import COLORMAP, cooccurrence_heatmap, save_figure
from qualcode.export.tables import (
    case_matrix,
    cooccurrence,
    cooccurrence_latex,
    export_tables,
    frequencies,
    frequencies_latex,
)

# Accepted codings of the test project, by turn (a turn is one segment):
#   d1 turn 1: attendance (alice + bob, overlapping), tea     d1 turn 2: attendance
#   d2 turn 1: pairs, streets (alice + bob, overlapping each other and pairs), attendance
#   d3 turn 1: pairs, tea                                    d3 turn 2: nothing accepted
# Settings: d1 and d3 Oakview, d2 Broadtown. Roles: d1 Teaching Assistant, d2 Head of
# School, d3 none. Suggested and rejected codings must never count.
CODES = ["attendance", "tea", "pairs", "streets", "unused"]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("tables") / "study.qualcode")


def rows(frame, columns: list[str]) -> dict[str, list[int]]:
    key = "code" if "code" in frame.columns else "theme"
    return {row[key]: [int(row[c]) for c in columns] for _, row in frame.iterrows()}


# -- frequencies ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("by", "count", "level", "columns", "expected"),
    [
        ("setting", "segments", "code", ["Broadtown", "Oakview", "total"],
         {"attendance": [1, 2, 3], "tea": [0, 2, 2], "pairs": [1, 1, 2], "streets": [1, 0, 1],
          "unused": [0, 0, 0]}),
        ("setting", "interviews", "code", ["Broadtown", "Oakview", "total"],
         {"attendance": [1, 1, 2], "tea": [0, 2, 2], "pairs": [1, 1, 2], "streets": [1, 0, 1],
          "unused": [0, 0, 0]}),
        ("role", "segments", "code", ["Head of School", "Teaching Assistant", "(missing)",
                                      "total"],
         {"attendance": [1, 2, 0, 3], "tea": [0, 1, 1, 2], "pairs": [1, 0, 1, 2],
          "streets": [1, 0, 0, 1], "unused": [0, 0, 0, 0]}),
        ("setting", "segments", "theme", ["Broadtown", "Oakview", "total"],
         {"visits": [1, 3, 4], "safety": [1, 1, 2]}),
        ("setting", "interviews", "theme", ["Broadtown", "Oakview", "total"],
         {"visits": [1, 2, 3], "safety": [1, 1, 2]}),
        (None, "segments", "code", ["all", "total"],
         {"attendance": [3, 3], "tea": [2, 2], "pairs": [2, 2], "streets": [1, 1],
          "unused": [0, 0]}),
    ],
)
def test_frequencies_hand_counted(study: Path, by, count, level, columns, expected) -> None:
    frame = frequencies(study, by, count=count, level=level)
    assert list(frame.columns[-len(columns):]) == columns
    assert rows(frame, columns) == expected


def test_frequencies_carry_names_and_denominators(study: Path) -> None:
    frame = frequencies(study, "setting")
    assert list(frame.columns[:3]) == ["theme", "code", "name"]
    assert frame.loc[frame["code"] == "streets", "name"].item() == "Streets avoided"
    assert frame.attrs["interviews"] == {"Broadtown": 1, "Oakview": 2, "total": 3}
    themes = frequencies(study, "setting", level="theme")
    assert list(themes["name"]) == ["Visits", "Risk & safety"]


def test_frequencies_follow_the_filters(study: Path) -> None:
    frame = frequencies(study, "setting", status="all", codes=["tea", "pairs"])
    # the suggested tea (d1 turn 2) and the rejected tea (d3 turn 2) and pairs (d1 turn 1)
    assert rows(frame, ["Broadtown", "Oakview", "total"]) == {
        "tea": [0, 4, 4], "pairs": [1, 2, 3]}
    bob = frequencies(study, "setting", coder="bob")
    assert rows(bob, ["total"])["attendance"] == [1] and rows(bob, ["total"])["tea"] == [0]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: frequencies(p, "site"), "must be a case attribute of the documents"),
        (lambda p: frequencies(p, count="codings"), "'count' parameter of frequencies()"),
        (lambda p: frequencies(p, level="category"), "'level' parameter of frequencies()"),
        (lambda p: frequencies(p, cooder="bob"), "unknown filter 'cooder'"),
        (lambda p: cooccurrence(p, unit="sentence"), "'unit' parameter of cooccurrence()"),
        (lambda p: export_tables(p, "x", formats=["docx"]), "'formats' parameter"),
    ],
)
def test_bad_arguments(study: Path, call, message: str) -> None:
    with pytest.raises(ParameterError, match=re.escape(message)):
        call(study)


# -- case matrix ------------------------------------------------------------------------------
def test_case_matrix_is_zero_one_with_attributes_first(study: Path) -> None:
    matrix = case_matrix(study)
    assert matrix.index.name == "document" and list(matrix.index) == ["d1", "d2", "d3"]
    assert list(matrix.columns) == ["setting", "role", "phase", *CODES]
    assert matrix[CODES].to_dict("index") == {
        "d1": {"attendance": 1, "tea": 1, "pairs": 0, "streets": 0, "unused": 0},
        "d2": {"attendance": 1, "tea": 0, "pairs": 1, "streets": 1, "unused": 0},
        "d3": {"attendance": 0, "tea": 1, "pairs": 1, "streets": 0, "unused": 0},
    }
    counts = case_matrix(study, binary=False, include_attributes=False)
    assert list(counts.columns) == CODES
    assert counts.loc["d1", "attendance"] == 2  # coded segments, not 0/1
    themes = case_matrix(study, level="theme", include_attributes=False)
    assert themes.to_dict("list") == {"visits": [1, 1, 1], "safety": [0, 1, 1]}


# -- co-occurrence ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        # attendance, tea, pairs, streets, unused
        ("segment", [[3, 1, 1, 1, 0], [1, 2, 1, 0, 0], [1, 1, 2, 1, 0], [1, 0, 1, 1, 0],
                     [0, 0, 0, 0, 0]]),
        ("overlap", [[3, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 0, 2, 1, 0], [0, 0, 1, 1, 0],
                     [0, 0, 0, 0, 0]]),
        ("document", [[2, 1, 1, 1, 0], [1, 2, 1, 0, 0], [1, 1, 2, 1, 0], [1, 0, 1, 1, 0],
                      [0, 0, 0, 0, 0]]),
    ],
)
def test_cooccurrence_hand_counted(study: Path, unit: str, expected) -> None:
    matrix = cooccurrence(study, unit=unit)
    assert list(matrix.index) == CODES and list(matrix.columns) == CODES
    assert matrix.to_numpy().tolist() == expected
    assert (matrix.to_numpy() == matrix.to_numpy().T).all()
    assert matrix.attrs["names"]["pairs"] == "Going in pairs"


def test_theme_cooccurrence(study: Path) -> None:
    assert cooccurrence(study, level="theme").to_numpy().tolist() == [[4, 2], [2, 2]]
    # overlap at theme level: pairs and streets merge into one safety span in d2
    assert cooccurrence(study, level="theme", unit="overlap").to_numpy().tolist() == [
        [5, 0], [0, 2]]


# -- LaTeX ------------------------------------------------------------------------------------
def test_frequencies_latex_is_booktabs_and_escaped(study: Path) -> None:
    segments = frequencies(study, "setting")
    interviews = frequencies(study, "setting", count="interviews")
    text = frequencies_latex(segments, interviews, label="tab:f")
    for rule in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert text.count(rule) == 1
    assert "\\begin{tabular}{@{}llrrr@{}}" in text and "\\label{tab:f}" in text
    assert "Visits & Poor attendance & 1 (1) & 2 (1) & 3 (2) \\\\" in text
    assert "Risk \\& safety & Going in pairs" in text
    assert " & $n=1$ & $n=2$ & $n=3$ \\\\" in text
    assert "\\hline" not in text


def test_cooccurrence_latex_lower_triangle(study: Path) -> None:
    text = cooccurrence_latex(cooccurrence(study))
    assert "1 & Poor attendance & \\textbf{3} &  &  &  &  \\\\" in text
    assert "4 & Streets avoided & 1 &  & 1 & \\textbf{1} &  \\\\" in text
    assert text.count("\\toprule") == 1 and text.count("\\bottomrule") == 1


# -- figures ----------------------------------------------------------------------------------
def test_heatmap_labels_every_code_and_uses_a_colour_blind_safe_map(study: Path) -> None:
    figure = cooccurrence_heatmap(cooccurrence(study))
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Poor attendance (3)", "Hospitality (2)", "Going in pairs (2)",
                      "Streets avoided (1)", "Never coded (0)"]
    assert COLORMAP.startswith(("cividis", "viridis"))
    numbers = sorted(t.get_text() for t in ax.texts)
    assert numbers == ["1"] * 10  # the five pairs, both sides, annotated


def test_heatmap_stays_readable_with_many_codes() -> None:
    import numpy as np
    import pandas as pd

    n = 36
    ids = [f"code_{i:02d}" for i in range(n)]
    data = np.random.default_rng(0).integers(0, 6, size=(n, n))
    data = np.triu(data) + np.triu(data, 1).T
    matrix = pd.DataFrame(data, index=ids, columns=ids)
    matrix.attrs.update(names={c: f"A fairly long code name number {c}" for c in ids},
                        themes={c: f"t{int(c[-2:]) // 9}" for c in ids}, unit="segment",
                        level="code")
    figure = cooccurrence_heatmap(matrix)
    width, height = figure.get_size_inches()
    assert width >= 0.26 * n and height >= 0.26 * n
    ax = figure.axes[0]
    assert len(ax.get_xticklabels()) == n and len(ax.get_yticklabels()) == n
    assert ax.get_yticklabels()[0].get_fontsize() >= 7
    assert len(ax.lines) == 2 * 3  # theme separators both ways


def test_save_figure_is_reproducible(study: Path, tmp_path: Path) -> None:
    matrix = cooccurrence(study)
    first = save_figure(cooccurrence_heatmap(matrix), tmp_path / "a.svg").read_bytes()
    second = save_figure(cooccurrence_heatmap(matrix), tmp_path / "b.svg").read_bytes()
    assert first == second and b"<svg" in first  # same data, same bytes: no dates, no ids
    figure = cooccurrence_heatmap(matrix)
    png = save_figure(figure, tmp_path / "a.png", dpi=72).read_bytes()
    assert png.startswith(b"\x89PNG")
    with pytest.raises(ParameterError, match="png, svg or pdf"):
        save_figure(figure, tmp_path / "a.gif")


# -- writing ----------------------------------------------------------------------------------
EXPECTED_FILES = sorted(
    [f"frequencies_{lv}s_by_{by}_{c}.csv" for lv in ("code", "theme")
     for by in ("setting", "role") for c in ("segments", "interviews")]
    + [f"frequencies_{lv}s_by_{by}.tex" for lv in ("code", "theme") for by in ("setting", "role")]
    + [f"case_matrix_{lv}s.csv" for lv in ("code", "theme")]
    + [f"cooccurrence_{lv}s.{ext}" for lv in ("code", "theme") for ext in ("csv", "tex", "svg")]
)


def test_export_tables_writes_everything_and_never_overwrites(study: Path,
                                                             tmp_path: Path) -> None:
    import pandas as pd

    out = tmp_path / "tables"
    written = export_tables(study, out, figures=["svg"])
    assert sorted(p.name for p in written) == EXPECTED_FILES
    assert sorted(p.name for p in out.iterdir()) == EXPECTED_FILES  # no temporary files
    frame = pd.read_csv(out / "frequencies_codes_by_setting_segments.csv")
    assert list(frame.columns) == ["theme", "code", "name", "Broadtown", "Oakview", "total"]
    matrix = pd.read_csv(out / "case_matrix_codes.csv", index_col="document")
    assert matrix.loc["d2", "streets"] == 1

    target = out / "cooccurrence_codes.csv"
    target.write_text("mine", encoding="utf-8")
    (out / "case_matrix_codes.csv").unlink()
    with pytest.raises(ParameterError, match="never replaces a file unless asked"):
        export_tables(study, out, figures=["svg"])
    assert target.read_text(encoding="utf-8") == "mine"
    assert not (out / "case_matrix_codes.csv").exists()  # refused before writing anything
    export_tables(study, out, figures=(), overwrite=True)
    assert target.read_text(encoding="utf-8").startswith("code,attendance,tea")


def test_export_tables_options(study: Path, tmp_path: Path) -> None:
    written = export_tables(study, tmp_path / "t", by="phase", levels="theme",
                            formats="csv", figures=(), attributes={"setting": "Oakview"})
    assert sorted(p.name for p in written) == [
        "case_matrix_themes.csv", "cooccurrence_themes.csv",
        "frequencies_themes_by_phase_interviews.csv", "frequencies_themes_by_phase_segments.csv"]
    file = tmp_path / "file.txt"
    file.write_text("", encoding="utf-8")
    with pytest.raises(ParameterError, match="is a file"):
        export_tables(study, file)
    with pytest.raises(ParameterError, match=re.escape("'by' parameter of export_tables()")):
        export_tables(study, tmp_path / "none", by=["setting", "site"])
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_tables_compile(study: Path, tmp_path: Path) -> None:
    export_tables(study, tmp_path, figures=())
    inputs = "".join(f"\\input{{{p.name}}}\n" for p in sorted(tmp_path.glob("*.tex")))
    (tmp_path / "main.tex").write_text(
        "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
        f"\\begin{{document}}\n{inputs}\\end{{document}}\n", encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
         "main.tex"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-2000:]
