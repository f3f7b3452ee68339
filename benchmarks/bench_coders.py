"""Benchmark: how fast the machine coders are (issue 3's speed targets).

1. rules: segments per second of ``RulesCoder.suggest`` on the bundled study's turns
   (repeated to ``--segments``), against a baseline of one compiled regular expression of
   every keyword over the raw text (no lemmas, no negation, no reasons). Target: >= 20,000
   segments/s. Reported cold (the first call lemmatises each new word form once) and warm.
2. semantic: ``SemanticCoder.suggest`` against the model's own ``encode`` of the same
   texts (target: within 20%), and a rerun served from the project's embedding cache
   (target: at least 20x faster than the first run).

Run from the project root::

    .venv/bin/python benchmarks/bench_coders.py
    .venv/bin/python benchmarks/bench_coders.py --segments 100000 --skip-semantic
    .venv/bin/python benchmarks/bench_coders.py --json coders.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qualcode.codebook import load_codebook  # noqa: E402
from qualcode.ingest import load_corpus  # noqa: E402
from qualcode.model import Segment  # noqa: E402
from qualcode.project import Project  # noqa: E402

BUNDLED = ROOT / "corpora" / "ap-home-visits"
CODEBOOK = ROOT / "codebooks" / "ap-home-visits.yaml"


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def bundled_segments(unit: str = "turns") -> tuple[Any, list[Segment]]:
    corpus = load_corpus(BUNDLED / "transcripts", cases=BUNDLED / "cases.csv",
                         segment=unit).corpus
    return corpus, [s for s in corpus.segments if s.role != "interviewer"]


def bench_rules(segments: list[Segment], total: int, runs: int) -> dict[str, Any]:
    from qualcode.coders.rules import RulesCoder
    from qualcode.nlp import english

    book = load_codebook(CODEBOOK)
    many = (segments * (total // len(segments) + 1))[:total]
    started = time.perf_counter()
    english()  # loading spaCy is a one-off cost, reported apart
    load_seconds = time.perf_counter() - started
    coder = RulesCoder().fit(None, book)
    cold = best_of(1, lambda: coder.suggest(many))
    warm = best_of(runs, lambda: coder.suggest(many))
    keywords = sorted({k for c in book for k in c.keywords}, key=len, reverse=True)
    baseline = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keywords) + r")\b",
                          re.IGNORECASE)
    texts = [s.text for s in many]
    raw = best_of(runs, lambda: [baseline.findall(t) for t in texts])
    found = len(coder.suggest(segments))
    return {
        "segments": total, "distinct_segments": len(segments),
        "mean_characters": round(sum(len(s.text) for s in segments) / len(segments)),
        "spacy_load_seconds": round(load_seconds, 2),
        "rules_cold_per_second": round(total / cold), "rules_warm_per_second": round(
            total / warm), "regex_baseline_per_second": round(total / raw),
        "suggestions_on_the_study": found, "lemmatiser": coder.nlp_source_,
    }


def bench_semantic(segments: list[Segment], corpus: Any, runs: int) -> dict[str, Any]:
    from qualcode.coders.embeddings import DEFAULT_MODEL, _encoder, _onnx_encoder, sentences_of
    from qualcode.coders.semantic import SemanticCoder

    book = load_codebook(CODEBOOK)
    started = time.perf_counter()
    # The model's own encode in the backend embed() uses (ONNX Runtime when installed,
    # else sentence-transformers on torch): the coder's overhead is measured against it.
    encode_with = _encoder(DEFAULT_MODEL, None, "auto", "float32")
    load_seconds = time.perf_counter() - started
    backend = "onnx" if _onnx_encoder(DEFAULT_MODEL) is not None else "torch"
    out: dict[str, Any] = {"segments": len(segments), "backend": backend,
                           "model_load_seconds": round(load_seconds, 2)}
    for sentences in (False, True):
        coder = SemanticCoder(sentences=sentences).fit(None, book)
        texts = []
        for s in segments:
            texts.append(s.text)
            parts = sentences_of(s.text)
            if sentences and len(parts) > 1:
                texts.extend(parts)
        unique = list(dict.fromkeys(texts))
        # Alternate the two, best of each: on a shared machine both see the same load.
        encode, suggest = float("inf"), float("inf")
        for _ in range(runs):
            encode = min(encode, best_of(1, lambda u=unique: encode_with(u, 64)))
            suggest = min(suggest, best_of(1, lambda c=coder: c.suggest(segments)))
        with tempfile.TemporaryDirectory() as folder, Project.create(
                Path(folder) / "b.qualcode", codebook=book) as project:
            project.add_corpus(corpus)
            first_started = time.perf_counter()
            coder.suggest(segments, cache=project)
            first = time.perf_counter() - first_started
            cached = best_of(runs, lambda c=coder, p=project: c.suggest(segments, cache=p))
        key = "sentences" if sentences else "whole_segments"
        out[key] = {
            "texts_encoded": len(unique),
            "raw_encode_seconds": round(encode, 3),
            "suggest_seconds": round(suggest, 3),
            "overhead_vs_encode": round(suggest / encode - 1, 3),
            "first_run_with_cache_seconds": round(first, 3),
            "cached_rerun_seconds": round(cached, 4),
            "cached_speedup": round(first / cached, 1),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=50_000,
                        help="segments for the rules benchmark (the study's turns repeated)")
    parser.add_argument("--runs", type=int, default=3, help="best of this many runs")
    parser.add_argument("--skip-semantic", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = parser.parse_args()

    results: dict[str, Any] = {"rules": {}}
    for unit in ("sentences", "turns"):
        _, unit_segments = bundled_segments(unit)
        r = results["rules"][unit] = bench_rules(unit_segments, args.segments, args.runs)
        print(f"rules, {unit} (mean {r['mean_characters']} characters): "
              f"{r['rules_warm_per_second']:,} segments/s warm, "
              f"{r['rules_cold_per_second']:,} cold (first call learns word forms); regex "
              f"baseline {r['regex_baseline_per_second']:,}/s ({r['segments']:,} segments, "
              f"lemmas from {r['lemmatiser']}; spaCy load {r['spacy_load_seconds']} s)")
    corpus, segments = bundled_segments()
    if not args.skip_semantic:
        results["semantic"] = bench_semantic(segments, corpus, args.runs)
        s = results["semantic"]
        for key in ("whole_segments", "sentences"):
            v = s[key]
            print(f"semantic ({key.replace('_', ' ')}, {v['texts_encoded']} texts, "
                  f"{s['backend']}): suggest "
                  f"{v['suggest_seconds']} s vs raw encode {v['raw_encode_seconds']} s "
                  f"({v['overhead_vs_encode']:+.0%}); cached rerun "
                  f"{v['cached_rerun_seconds']} s, {v['cached_speedup']}x faster than the "
                  f"first run ({v['first_run_with_cache_seconds']} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
