"""Benchmark: machine coders against human coders on real and bundled data (issue 3).

1. The shared usability study (``../shared/data/swj2022-usability``, 17 think-aloud
   sessions coded by the study's authors with 22 codes): import the 1,930 codings (how
   many excerpts were located), train the supervised coder on P1-P8 and test it on P9-P17.
   Target: macro Cohen's kappa over the 22 codes >= 0.6 (the data README's baseline, a
   line-level logistic regression on MiniLM embeddings: 0.35). Reported per code, at the
   paragraph unit (one line of the transcript, comparable with the baseline) and at the
   turn unit (the project default).
2. The bundled study (``corpora/ap-home-visits``): the semantic coder with no training
   (definitions and examples only) against the reference coding, theme level, turns.
   Target: kappa >= 0.5.

Run from the project root (a few minutes on a laptop CPU; embeddings are cached in the
projects under ``--workdir``, so a rerun is faster)::

    .venv/bin/python benchmarks/bench_swj2022.py
    .venv/bin/python benchmarks/bench_swj2022.py --workdir /tmp/bench --json results.json
    .venv/bin/python benchmarks/bench_swj2022.py --skip-bundled --units paragraph
    .venv/bin/python benchmarks/bench_swj2022.py --workdir /tmp/bench --units turn --nested 2

Prints the numbers and a Markdown section for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qualcode.analysis.agreement import agreement  # noqa: E402
from qualcode.analysis.evaluation import evaluate  # noqa: E402
from qualcode.codebook import load_codebook  # noqa: E402
from qualcode.codings_table import import_codings  # noqa: E402
from qualcode.ingest import load_corpus  # noqa: E402
from qualcode.project import Project  # noqa: E402

SWJ = ROOT.parent / "shared" / "data" / "swj2022-usability"
BUNDLED = ROOT / "corpora" / "ap-home-visits"
BUNDLED_CODEBOOK = ROOT / "codebooks" / "ap-home-visits.yaml"
TRAIN = [f"P{i}_*" for i in range(1, 9)]
TEST = [f"P{i}_*" for i in range(9, 18)]
UNITS = {"paragraph": "paragraphs", "turn": "turns", "sentence": "sentences"}


def build(path: Path, transcripts: Path, codebook: Path, unit: str, codings: Path,
          coder: str | None) -> tuple[Project, Any, float]:
    """A project of the transcripts at ``unit``, with the codings imported (reused if
    ``path`` exists from an earlier run)."""
    started = time.perf_counter()
    if path.exists():
        project = Project.open(path)
        return project, None, time.perf_counter() - started
    project = Project.create(path, codebook=load_codebook(codebook))
    project.add_corpus(load_corpus(transcripts, segment=UNITS[unit]))
    report = import_codings(project, codings, coder)
    return project, report, time.perf_counter() - started


def swj(workdir: Path, units: list[str], method: str, params: dict[str, Any]
        ) -> dict[str, Any]:
    out: dict[str, Any] = {"method": method, "params": params, "units": {}}
    for unit in units:
        project, report, seconds = build(
            workdir / f"swj-{unit}.qualcode", SWJ / "transcripts",
            SWJ / "codebooks" / "codebook_20220303_8.csv", unit, SWJ / "codings_20220303.csv",
            "authors")
        with project:
            if report is not None:
                print(f"[swj2022] import ({unit}s): {report.summary()} ({seconds:.1f} s)")
                out["import"] = {k: report.to_dict()[k] for k in
                                 ("rows", "located", "ambiguous", "unmatched")}
            result = evaluate(project, "authors", TRAIN, TEST, coder=method, params=params,
                              unit=unit)
        print(f"\n[swj2022] {method} coder, unit {unit}:")
        print(result.summary())
        seconds = result.seconds
        print(f"Fit {seconds.get('fit', 0):.1f} s, suggest {seconds.get('suggest', 0):.1f} s "
              f"(load average {_load()}).")
        for note in (result.fit_report or {}).get("notes", ()):
            print(f"Fit: {note}.")
        frame = result.to_frame()[["code", "support", "predicted", "precision", "recall", "f1",
                                   "kappa"]]
        print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        out["units"][unit] = result.to_dict()
    return out


def nested(workdir: Path, unit: str, method: str, params: dict[str, Any],
           per_fold: int) -> dict[str, Any]:
    """Cross-validation inside the training sessions alone (P1-P8): each fold of
    ``per_fold`` sessions is coded by a coder trained on the others, and the pooled
    predictions are scored against the authors' codings. Compares coder settings without
    looking at the test sessions (P9-P17)."""
    from qualcode.analysis.agreement import select_documents
    from qualcode.analysis.evaluation import score_predictions
    from qualcode.coders import get_coder
    from qualcode.coders.base import TrainingData

    project, _, _ = build(
        workdir / f"swj-{unit}.qualcode", SWJ / "transcripts",
        SWJ / "codebooks" / "codebook_20220303_8.csv", unit, SWJ / "codings_20220303.csv",
        "authors")
    with project:
        training = sorted(select_documents(project.documents.ids, TRAIN, what="training"),
                          key=lambda d: int(d[1:].split("_")[0]))
        folds = [training[i:i + per_fold] for i in range(0, len(training), per_fold)]
        segments, suggestions, started = [], [], time.perf_counter()
        for held_out in folds:
            learn_from = [d for d in training if d not in held_out]
            coder = get_coder(method, **params).fit(TrainingData.from_project(
                project, coder="authors", documents=learn_from, kind=unit), project.codebook)
            fold_segments = list(project.segments(document=held_out, kind=unit))
            suggestions.extend(coder.suggest(fold_segments, cache=project))
            segments.extend(fold_segments)
            print(f"  fold {','.join(held_out)}: {getattr(coder, 'chosen_', '')}", flush=True)
        reference = project.codings(coder="authors", document=training, status="accepted")
        scores, macro, micro = score_predictions(segments, reference, suggestions,
                                                 codebook=project.codebook)
    print(f"[swj2022] nested CV in P1-P8 ({len(folds)} folds of {per_fold}), {method} "
          f"{params}, unit {unit}: macro kappa {macro.kappa:.3f} (over {macro.codes['kappa']} "
          f"codes), micro kappa {micro.kappa:.3f}, macro F1 {macro.f1:.3f} "
          f"({time.perf_counter() - started:.0f} s, load {_load()})")
    return {"unit": unit, "params": params, "folds": folds, "macro_kappa": macro.kappa,
            "micro_kappa": micro.kappa, "macro_f1": macro.f1,
            "per_code": {s.code: s.kappa for s in scores}}


def bundled(workdir: Path, params: dict[str, Any]) -> dict[str, Any]:
    project, report, seconds = build(
        workdir / "ap-home-visits.qualcode", BUNDLED / "transcripts", BUNDLED_CODEBOOK, "turn",
        BUNDLED / "codings.csv", None)
    from qualcode.coders import get_coder, suggestions_to_codings

    with project:
        if report is not None:
            print(f"[bundled] import: {report.summary()} ({seconds:.1f} s)")
        started = time.perf_counter()
        coder = get_coder("semantic", **params).fit(project)
        segments = project.segments()
        suggestions = coder.suggest(segments, cache=project)
        elapsed = time.perf_counter() - started
        name = "semantic-bench"
        project.add_codings(suggestions_to_codings(suggestions, coder=name),
                            check_codes=False)
        results = {}
        for level in ("theme", "code"):
            # Documents without reference codings count as missing, not as "no code here".
            result = agreement(project, ["reference", name], level=level)
            print(f"\n[bundled] semantic coder vs reference, {level} level "
                  f"({len(suggestions)} suggestions for {len(segments)} turns, "
                  f"{elapsed:.1f} s):")
            print(result.summary())
            if level == "theme":
                print(result.to_frame()[["code", "units", "percent_agreement", "kappa",
                                         "alpha"]].to_string(index=False))
            results[level] = result.to_dict()
    return {"params": params, "seconds": elapsed, **results}


def markdown(results: dict[str, Any]) -> str:
    lines = ["## Selective coding against human coders (benchmarks/bench_swj2022.py)", ""]
    data = results.get("swj")
    if data:
        imported = data.get("import")
        if imported:
            lines.append(
                f"Shared usability study: {imported['located']} of {imported['rows']} "
                f"excerpts located ({imported['ambiguous']} ambiguous: repeated stage "
                f"directions placed in table order), {imported['unmatched']} unmatched.")
            lines.append("")
        for unit, result in data["units"].items():
            macro = result["macro"]
            lines.append(
                f"- {data['method']} coder, train P1-P8, test P9-P17, unit {unit} "
                f"({result['segments']} test segments): macro kappa "
                f"{_f(macro['kappa'])} over {macro['codes']['kappa']} codes, macro F1 "
                f"{_f(macro['f1'])}, micro kappa {_f(result['micro']['kappa'])} "
                "(target >= 0.6; baseline 0.35, line level)")
            settings = [n for n in (result.get("fit_report") or {}).get("notes", ())
                        if n.startswith("settings")]
            if settings:
                lines.append(f"  (fit {result['seconds']['fit']:.0f} s; {settings[0]})")
        lines.append("")
        for unit, result in data["units"].items():
            lines.append(f"Per code, unit {unit}:")
            lines.append("")
            lines.append("| code | support | predicted | precision | recall | F1 | kappa |")
            lines.append("|---|---:|---:|---:|---:|---:|---:|")
            for c in result["codes"]:
                lines.append(f"| {c['code']} | {c['support']} | {c['predicted']} | "
                             f"{_f(c['precision'])} | {_f(c['recall'])} | {_f(c['f1'])} | "
                             f"{_f(c['kappa'])} |")
            lines.append("")
    data = results.get("bundled")
    if data:
        theme = data["theme"]
        lines.append(
            f"- Bundled study, semantic coder without training, theme level, turns "
            f"({theme['overall']['pooled']['decisions']} turn x theme decisions): macro kappa "
            f"{_f(theme['overall']['macro']['kappa'])}, pooled kappa "
            f"{_f(theme['overall']['pooled']['kappa'])} (target >= 0.5); code level macro "
            f"kappa {_f(data['code']['overall']['macro']['kappa'])}.")
    return "\n".join(lines)


def _load() -> str:
    try:
        import os

        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "n/a"


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Keep the projects (and their embedding caches) here.")
    parser.add_argument("--units", nargs="+", default=["paragraph", "turn"],
                        choices=sorted(UNITS))
    parser.add_argument("--method", default="supervised",
                        help="Coder for the shared study (default supervised).")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=JSON",
                        help="A coder parameter for the shared study, e.g. threshold=0.4.")
    parser.add_argument("--semantic-param", action="append", default=[], metavar="NAME=JSON")
    parser.add_argument("--skip-swj", action="store_true")
    parser.add_argument("--skip-bundled", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="Write all results here.")
    parser.add_argument("--nested", type=int, default=0, metavar="SESSIONS",
                        help="Instead of the test sessions: cross-validation inside P1-P8, "
                        "folds of this many sessions (settings compared without the test).")
    args = parser.parse_args()

    def parsed(items: list[str]) -> dict[str, Any]:
        out = {}
        for item in items:
            name, _, value = item.partition("=")
            try:
                out[name] = json.loads(value)
            except json.JSONDecodeError:
                out[name] = value
        return out

    warnings.simplefilter("ignore")  # third-party deprecation chatter; results only
    temporary = None
    if args.workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="qualcode-bench-")
        workdir = Path(temporary.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    try:
        if args.nested:
            results["nested"] = [nested(workdir, unit, args.method, parsed(args.param),
                                        args.nested) for unit in args.units]
        else:
            if not args.skip_swj:
                if SWJ.is_dir():
                    results["swj"] = swj(workdir, args.units, args.method, parsed(args.param))
                else:
                    print(f"{SWJ} not found: skipping the shared study.")
            if not args.skip_bundled:
                results["bundled"] = bundled(workdir, parsed(args.semantic_param))
    finally:
        if temporary is not None:
            temporary.cleanup()
    if not args.nested:
        print("\n" + markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
