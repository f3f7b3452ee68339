"""Benchmark: saturation over random interview orderings, and the real-data reports.

Target (issue 5): 1,000 orderings of 500 interviews x 1,000 codes in under 2 s and under
1 GB. Run from the project root::

    .venv/bin/python benchmarks/bench_saturation.py
    .venv/bin/python benchmarks/bench_saturation.py --interviews 500 --codes 1000 \\
        --permutations 1000 --repeat 5 --density 0.5

Prints the timings (best and median of ``--repeat`` runs) of the permutation step alone
and of the whole ``saturation()`` call (curve, rules, Chao2, three fits, permutations),
the peak memory numpy allocated (tracemalloc) and the process's peak resident size; then,
when ``../shared/data`` is beside the checkout, the result for the swj2022 usability study.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qualcode.analysis._accumulation import order_uncertainty  # noqa: E402
from qualcode.analysis.saturation import saturation  # noqa: E402

SWJ = ROOT.parent / "shared" / "data" / "swj2022-usability" / "codings_20220303.csv"


def synthetic(interviews: int, codes: int, density: float | None, seed: int) -> np.ndarray:
    """A presence matrix with skewed code prevalence (a few common codes, many rare ones),
    or a uniform ``density`` when given (the dense worst case for a sparse method)."""
    rng = np.random.default_rng(seed)
    if density is not None:
        return rng.random((interviews, codes)) < density
    prevalence = rng.beta(0.3, 3.0, size=codes)
    matrix = rng.random((interviews, codes)) < prevalence
    matrix[rng.integers(0, interviews, size=codes), np.arange(codes)] = True  # all present
    return matrix


def timed(function, repeat: int) -> tuple[float, float, object]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=500)
    parser.add_argument("--codes", type=int, default=1000)
    parser.add_argument("--permutations", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--density", type=float, default=None,
                        help="uniform share of cells present (default: skewed prevalence)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    matrix = synthetic(args.interviews, args.codes, args.density, args.seed)
    mapping = {f"I{i:04d}": [f"c{j}" for j in np.flatnonzero(row)]
               for i, row in enumerate(matrix)}
    print(f"matrix: {args.interviews} interviews x {args.codes} codes, "
          f"density {matrix.mean():.3f}; {args.permutations} orderings; repeat {args.repeat}")

    best, median, _ = timed(lambda: order_uncertainty(
        matrix, permutations=args.permutations, seed=args.seed), args.repeat)
    print(f"permutations only (curves + both rules): best {best:.3f} s, median {median:.3f} s")

    best, median, result = timed(lambda: saturation(
        mapping, permutations=args.permutations, seed=args.seed), args.repeat)
    print(f"saturation() end to end (mapping in):    best {best:.3f} s, median {median:.3f} s")

    tracemalloc.start()
    order_uncertainty(matrix, permutations=args.permutations, seed=args.seed)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak numpy/python allocation in the permutation step: {peak / 2**20:.1f} MiB; "
          f"process peak RSS: {rss:.0f} MiB")
    print(f"synthetic result: {result.guest2020.label}, Chao2 {result.chao2.estimate:.1f}")

    if SWJ.is_file():
        import pandas as pd

        frame = pd.read_csv(SWJ)
        frame["document"] = frame["document"].str.removesuffix(".odt")
        stamp = frame["document"].str.extract(r"_GMT(\d{8})")[0]
        frame["date"] = stamp.str[:4] + "-" + stamp.str[4:6] + "-" + stamp.str[6:]
        start = time.perf_counter()
        swj = saturation(frame[["document", "tag", "date"]], permutations=1000, seed=0)
        print(f"\nswj2022-usability (codings_20220303.csv, by date), "
              f"{time.perf_counter() - start:.2f} s:")
        print(swj.summary())


if __name__ == "__main__":
    main()
