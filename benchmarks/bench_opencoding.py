"""Benchmark: open coding against a real early coding, and its speed.

Targets (issue 4):

- **Recovery.** On ``../shared/data/swj2022-usability`` (17 think-aloud transcripts), the
  human codings ``codings_20220224.csv`` (25 codes, the first consolidated codebook) are
  kept out of the candidate step. Human codes with at least 10 excerpts are matched to
  candidates one to one (each candidate serves at most one code), maximising shared
  segments (``scipy.optimize.linear_sum_assignment``). Reported: the share of those codes
  whose matched candidate holds at least half of their excerpts' segments (a code's
  segments are those any of its excerpts overlaps). Target >= 50%. The benchmark runs
  ``candidates()`` as it is by default, with ``interviewer="separate"``: what a researcher
  would choose for think-aloud sessions, whose moderator mostly steps in to help (the
  human coders gave those interventions a code of their own, ``Moderator comment``).
  ``--interviewer context`` gives the figure with ``candidates()``'s own default.
- **Ceiling.** ``ceiling`` shows how far candidates that follow the task prompts could go:
  each prompt's answers (or each session's answer to a prompt, or each turn) given with
  hindsight to the human code they serve best.
- **Speed.** 5,000 segments from cold (embedding included) in under 60 s on 2 cores, and
  from the embedding cache in under 10 s. Each run is a fresh Python process (so imports
  count, as they do for ``qualcode open-code``); wall and CPU time and the load average
  are printed, because the machine may be shared. With ONNX Runtime installed (the
  ``onnx`` extra) the embeddings run there, from a model exported once per machine
  (``--fresh-export`` times that first run too); ``--backend torch`` gives the torch
  figure, ``--precision int8`` the quantised model's.

Run from the project root::

    .venv/bin/python benchmarks/bench_opencoding.py recovery --seeds 0 1 2 3 4 --detail
    .venv/bin/python benchmarks/bench_opencoding.py recovery --units sentence paragraph \\
        --cluster ward kmeans --interviewer context separate --candidates 0 20 --seeds 0 1
    .venv/bin/python benchmarks/bench_opencoding.py ceiling --units sentence paragraph
    .venv/bin/python benchmarks/bench_opencoding.py speed --segments 5000

``--workdir`` keeps the projects (and their embedding caches) between runs; ``--candidates
0`` means the default number. The speed benchmark reads the swj2022 transcripts and the
bundled AP study until it has ``--segments`` participant sentences.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SWJ = ROOT.parent / "shared" / "data" / "swj2022-usability"
AP = ROOT / "corpora" / "ap-home-visits"
UNITS = {"turn": "turns", "paragraph": "paragraphs", "sentence": "sentences"}


def load_avg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# -- recovery ---------------------------------------------------------------------------
def swj_project(workdir: Path, unit: str, with_codings: bool):
    """The swj2022 transcripts as a project of ``unit`` segments (made once, then reused);
    with the human codings imported only in the ``-human`` copy used for scoring."""
    from qualcode.project import Project

    path = workdir / f"swj-{unit}{'-human' if with_codings else ''}.qualcode"
    if path.exists():
        return Project.open(path)
    from qualcode.codings_table import import_codings
    from qualcode.ingest import load_corpus

    project = Project.create(path)
    project.add_corpus(load_corpus(SWJ / "transcripts", segment=UNITS[unit]).corpus)
    if with_codings:
        report = import_codings(project, SWJ / "codings_20220224.csv", coder="human",
                                create_codes=True)
        print(f"  human codings ({unit}): {report.summary()}")
    return project


def human_codes(scored, unit: str, min_excerpts: int = 10
                ) -> tuple[list[str], Counter, dict[str, set]]:
    """The human codes with at least ``min_excerpts`` excerpts, the excerpts per code, and
    each code's segments of ``unit`` (those any of its excerpts overlaps)."""
    from qualcode.coders.base import segment_labels

    codings = list(scored.codings(coder="human"))
    excerpts = Counter(c.code_id for c in codings)
    codes = sorted(c for c, n in excerpts.items() if n >= min_excerpts)
    segments = list(scored.segments(kind=unit))
    code_segments: dict[str, set] = {c: set() for c in codes}
    for segment, present in zip(segments, segment_labels(segments, codings), strict=True):
        for code in present:
            if code in code_segments:
                code_segments[code].add(segment.key)
    return codes, excerpts, code_segments


def recovery(found, scored, min_excerpts: int = 10, with_themes: bool = False
             ) -> tuple[float, list[dict]]:
    """The issue's figure for a candidate set, scored on a project holding the human
    codings: (share of codes recovered, one row per code).

    ``with_themes=True`` adds each candidate theme (``CandidateSet.themes()``) as one more
    candidate holding its candidates' segments: what a researcher gets by also accepting
    a theme's candidates merged (a two-level codebook). Not the issue's headline figure.
    """
    from dataclasses import replace

    codes, excerpts, code_segments = human_codes(scored, found.unit, min_excerpts)
    active = list(found.active)
    if with_themes:
        for theme, ids in found.themes().items():
            parts = [found[i] for i in ids]
            active.append(replace(parts[0], id=theme, label=" + ".join(p.label for p in parts),
                                  segments=tuple(k for p in parts for k in p.segments)))
    return match_one_to_one(codes, excerpts, code_segments,
                            [(c.id, c.label, set(c.segments)) for c in active])


def match_one_to_one(codes: list[str], excerpts: Counter, code_segments: dict[str, set],
                     groups: list[tuple[str, str, set]]) -> tuple[float, list[dict]]:
    """Codes matched to groups ``(id, label, segment keys)`` one to one, maximising shared
    segments: (share of codes whose group holds at least half their segments, rows)."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    shared = np.array([[len(code_segments[code] & members) for _, _, members in groups]
                       for code in codes])
    rows, cols = linear_sum_assignment(-shared) if groups else ([], [])
    table = []
    for r, c in zip(rows, cols, strict=True):
        total = len(code_segments[codes[r]])
        group_id, label, members = groups[c]
        table.append({"code": codes[r], "excerpts": excerpts[codes[r]], "segments": total,
                      "candidate": group_id, "label": label, "candidate_size": len(members),
                      "shared": int(shared[r, c]),
                      "share": shared[r, c] / total if total else 0.0})
    matched = {row["code"] for row in table}
    table += [{"code": code, "excerpts": excerpts[code], "segments": len(code_segments[code]),
               "candidate": None, "label": None, "candidate_size": 0, "shared": 0,
               "share": 0.0} for code in codes if code not in matched]
    recovered = sum(row["share"] >= 0.5 for row in table)
    return recovered / len(codes), sorted(table, key=lambda row: -row["share"])


def run_ceiling(args: argparse.Namespace) -> None:
    """How far candidates that follow the task prompts could go at best.

    Atoms of participants' segments are formed by their task prompt (the question
    :func:`qualcode.coders.topics.find_context` gives them, by its text, so one prompt of
    the protocol is one atom across sessions), or by prompt and session (one participant's
    answer), or by turn. Each atom is given, with hindsight, to the human code it serves
    best (the largest share of that code's segments); the atoms given to one code make one
    group, and the interviewer's segments one more. Scored as the candidates are. A
    greedy assignment with hindsight, so a guide to the ceiling of candidates that are
    unions of such atoms rather than a proof of it.
    """
    from qualcode.coders import topics

    for unit in args.units:
        scored = swj_project(args.workdir, unit, with_codings=True)
        codes, excerpts, code_segments = human_codes(scored, unit)
        segments = list(scored.segments(kind=unit))
        question, _, _ = topics.find_context(segments)
        prompt = [" ".join(segments[q].text.split()).lower() if q is not None else ""
                  for q in question]
        turn, current = [], -1
        for i, s in enumerate(segments):
            if i == 0 or (segments[i - 1].document_id, segments[i - 1].role,
                          segments[i - 1].speaker) != (s.document_id, s.role, s.speaker):
                current += 1
            turn.append(current)
        participants = [i for i, s in enumerate(segments) if s.role == "participant"]
        asides = {s.key for s in segments if s.role == "interviewer"}
        session_prompt = [(p, s.document_id) for p, s in zip(prompt, segments, strict=True)]
        for name, atom_of in (("task prompt", prompt),
                              ("task prompt x session", session_prompt), ("turn", turn)):
            atoms: dict = {}
            for i in participants:
                atoms.setdefault(atom_of[i], set()).add(segments[i].key)
            given: dict[str, set] = {}
            for members in atoms.values():
                best = max(codes, key=lambda c: (len(code_segments[c] & members)
                                                 / max(len(code_segments[c]), 1), c))
                given.setdefault(best, set()).update(members)
            groups = [(code, code, members) for code, members in given.items()]
            share, _ = match_one_to_one(codes, excerpts, code_segments, groups)
            with_asides, _ = match_one_to_one(
                codes, excerpts, code_segments, [*groups, ("asides", "interviewer", asides)])
            print(f"  unit={unit} atoms by {name}: {len(atoms)} atoms -> {len(groups)} "
                  f"groups; best recovery {share:.0%}, with the interviewer's segments as "
                  f"one more group {with_asides:.0%}")
        scored.close()


def run_recovery(args: argparse.Namespace) -> None:
    from qualcode.opencoding import candidates

    print(f"load average at start: {load_avg()}")
    results = []
    for unit in args.units:
        project = swj_project(args.workdir, unit, with_codings=False)
        scored = swj_project(args.workdir, unit, with_codings=True)
        for context, n, cluster, interviewer in itertools.product(
                args.context, args.candidates, args.cluster, args.interviewer):
            shares, themed_shares, sizes = [], [], []
            for seed in args.seeds:
                start = time.perf_counter()
                found = candidates(project, seed=seed, context=context,
                                   n_candidates=n or None, min_size=args.min_size,
                                   interviewer=interviewer, cluster=cluster, save=False,
                                   precision=args.precision)
                seconds = time.perf_counter() - start
                share, table = recovery(found, scored)
                themed, _ = recovery(found, scored, with_themes=True)
                shares.append(share)
                themed_shares.append(themed)
                sizes.append(len(found.active))
                print(f"  unit={unit} context={context} cluster={cluster} "
                      f"interviewer={interviewer} candidates={len(found.active)} "
                      f"seed={seed}: recovered {share:.0%} "
                      f"({sum(r['share'] >= 0.5 for r in table)}/{len(table)} codes); "
                      f"with themes {themed:.0%}; {seconds:.1f} s", flush=True)
                if args.detail:
                    for row in table:
                        print(f"      {row['code']:42s} {row['segments']:4d} seg -> "
                              f"{row['candidate'] or '-':>4} {row['shared']:4d} "
                              f"({row['share']:.0%}) {row['label'] or ''}")
            results.append({"unit": unit, "context": context, "n_candidates": n or None,
                            "cluster": cluster, "interviewer": interviewer,
                            "candidates": sizes, "seeds": list(args.seeds),
                            "recovered": shares, "mean": statistics.mean(shares),
                            "with_themes": themed_shares,
                            "with_themes_mean": statistics.mean(themed_shares)})
        project.close()
        scored.close()
    print(f"load average at end: {load_avg()}")
    print("\nunit       context cluster interviewer candidates  recovered (per seed)       "
          "mean   with themes (mean; not the issue's figure)")
    for r in results:
        per_seed = " ".join(f"{s:.0%}" for s in r["recovered"])
        print(f"{r['unit']:10s} {r['context']:7} {r['cluster']:7s} {r['interviewer']:11s} "
              f"{r['n_candidates'] or 'auto'!s:>10}  {per_seed:26s} {r['mean']:.0%}    "
              f"{r['with_themes_mean']:.0%}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


# -- speed ------------------------------------------------------------------------------
_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from qualcode.opencoding import candidates
found = candidates(sys.argv[1], documents=json.loads(sys.argv[2]), seed=0, save=False,
                   precision=sys.argv[3])
inner = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"inner": inner, "cpu": usage.ru_utime + usage.ru_stime,
                  "segments": found.n_segments, "candidates": len(found.active),
                  "rss_mb": usage.ru_maxrss / 1024,
                  "torch": "torch" in sys.modules}))
"""


def speed_project(workdir: Path, segments: int):
    """A fresh project of participant sentences (swj2022, then the AP study) and the
    documents that give at least ``segments`` of them."""
    from qualcode.ingest import load_corpus
    from qualcode.project import Project

    path = workdir / "speed.qualcode"
    for stale in workdir.glob("speed.qualcode*"):
        stale.unlink()
    project = Project.create(path)
    chosen, total = [], 0
    for folder in (SWJ / "transcripts", AP / "transcripts"):
        corpus = load_corpus(folder, segment="sentences").corpus
        project.add_corpus(corpus)
        for document in corpus.documents:
            if total >= segments:
                break
            chosen.append(document.id)
            total += sum(1 for s in corpus.segments_of(document.id)
                         if s.role == "participant")
    project.close()
    if total < segments:
        print(f"  only {total} participant sentences available")
    return path, chosen, total


def run_speed(args: argparse.Namespace) -> None:
    path, documents, total = speed_project(args.workdir, args.segments)
    print(f"{total} participant sentences in {len(documents)} documents; cores: "
          f"{os.cpu_count()}; threads: {args.threads or 'default'}; backend: {args.backend}; "
          f"precision: {args.precision}; load average before: {load_avg()}")
    fresh = None
    if args.fresh_export:  # an empty cache of exported models: the very first run
        import tempfile
        fresh = tempfile.mkdtemp(prefix="qualcode-cache-", dir=args.workdir)
    for label in ("cold (empty embedding cache)", *(["from the embedding cache"] * args.repeat)):
        start = time.perf_counter()
        env = dict(os.environ)
        env["QUALCODE_EMBEDDINGS_BACKEND"] = args.backend
        if fresh:
            env["QUALCODE_CACHE_DIR"] = fresh
        if args.threads:  # torch, OpenBLAS and OpenMP thread pools of the child
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env[name] = str(args.threads)
        child = subprocess.run([sys.executable, "-c", _CHILD, str(path), json.dumps(documents),
                                args.precision],
                               capture_output=True, text=True, cwd=ROOT, check=False, env=env)
        wall = time.perf_counter() - start
        if child.returncode:
            sys.exit(child.stderr)
        out = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"  {label}: {wall:.1f} s wall for the whole process ({out['inner']:.1f} s "
              f"inside candidates() incl. imports; {out['cpu']:.1f} s CPU), "
              f"{out['segments']} segments -> {out['candidates']} candidates, "
              f"peak RSS {out['rss_mb']:.0f} MB; torch imported: {out['torch']}; "
              f"load average now {load_avg()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("recovery", help="recovery of the swj2022 early coding")
    rec.add_argument("--units", nargs="+", default=["sentence"], choices=list(UNITS))
    rec.add_argument("--context", nargs="+", type=float, default=[1.0])
    rec.add_argument("--candidates", nargs="+", type=int, default=[0])
    rec.add_argument("--seeds", nargs="+", type=int, default=[0])
    rec.add_argument("--min-size", type=int, default=10)
    rec.add_argument("--cluster", nargs="+", default=["ward"],
                     choices=["ward", "kmeans", "hdbscan", "umap-hdbscan"])
    rec.add_argument("--interviewer", nargs="+", default=["separate"],
                     choices=["context", "separate", "include"],
                     help="what becomes of the interviewer's segments (candidates(): "
                          "interviewer=...); 'separate' for this think-aloud study")
    rec.add_argument("--detail", action="store_true", help="print every code's match")
    rec.add_argument("--precision", default="float32", choices=["float32", "int8"],
                     help="embedding precision (candidates(): precision=...)")
    rec.add_argument("--json", type=Path, help="also write the results here")
    cei = sub.add_parser("ceiling", help="best recovery of candidates that follow the "
                                         "task prompts (an upper bound)")
    cei.add_argument("--units", nargs="+", default=["sentence"], choices=list(UNITS))
    spd = sub.add_parser("speed", help="time 5,000 segments cold and from the cache")
    spd.add_argument("--segments", type=int, default=5000)
    spd.add_argument("--repeat", type=int, default=2)
    spd.add_argument("--threads", type=int, default=0,
                     help="threads for torch/BLAS (default: their own choice, one per core); "
                          "1 avoids oversubscription on a machine others are using")
    spd.add_argument("--precision", default="float32", choices=["float32", "int8"],
                     help="embedding precision (candidates(): precision=...)")
    spd.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                     help="embedding backend (QUALCODE_EMBEDDINGS_BACKEND in the child): "
                          "auto uses ONNX Runtime when it is installed")
    spd.add_argument("--fresh-export", action="store_true",
                     help="start from an empty cache of exported ONNX models, so the cold "
                          "run includes the one-off export (a machine's very first run)")
    for p in (rec, cei, spd):
        p.add_argument("--workdir", type=Path, default=Path("/tmp/qualcode-bench-opencoding"))
    args = parser.parse_args()
    if not SWJ.is_dir():
        sys.exit(f"{SWJ} is not there: the benchmark needs ../shared/data beside the checkout.")
    args.workdir.mkdir(parents=True, exist_ok=True)
    {"recovery": run_recovery, "ceiling": run_ceiling, "speed": run_speed}[args.command](args)


if __name__ == "__main__":
    main()
