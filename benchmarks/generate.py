"""Scale the bundled study to any size: synthetic transcripts and open-ended survey answers.

The bundled study (corpora/ap-home-visits: 23 fictional interviews) is read with qualcode's
own transcript reader and recombined, seeded, into as many documents as asked:

- **transcripts**: each keeps the shape of one bundled interview (its questions, in
  order, sometimes swapped for another interview's), with every answer rebuilt from
  sentences of answers to *any* interview (about half its own sentences, half drawn from
  the pool, lightly shuffled), a new participant (name, setting, role, date) and the
  people and streets it mentions renamed. One in five is written with ``[hh:mm:ss]``
  timestamps, the rest with plain ``Name, Setting:`` labels (both as in the study).
  A ``cases.csv`` gives every transcript's attributes.
- **survey**: one row per respondent (``id, setting, role, phase, response``), each
  response one to three sentences from the participants' answers, sometimes with a short
  opener ("Honestly, ..."), names varied. Mostly distinct texts, so an embedding cache
  does not make a benchmark look faster than it is (the share is printed).

Run from the project root::

    .venv/bin/python benchmarks/generate.py transcripts /tmp/big --documents 2000
    .venv/bin/python benchmarks/generate.py transcripts /tmp/big --megabytes 50
    .venv/bin/python benchmarks/generate.py survey /tmp/survey.csv --responses 1000000

The same ``--seed`` always gives the same files.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import random
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLED = ROOT / "corpora" / "ap-home-visits"
NAMES_FILE = Path(__file__).with_name("ap_home_visits_names.txt")

_FIRST_NAMES = (
    "Abby Adam Adele Aiden Alfie Alice Amara Amir Amy Anil Ann Archie Ayesha Bella Ben Beth "
    "Billie Brandon Bryony Caleb Carl Carys Chloe Chris Ciara Connor Craig Daisy Dan Dana "
    "Darren Dean Deepa Demi Dionne Dylan Eden Eileen Eli Ella Ellie Ethan Evie Faye Femi "
    "Finn Fiona Frankie Freya Gemma George Grace Hamza Harry Harvey Hayley Ian Imran Isla "
    "Ivy Jack Jade James Jasmine Jenna Jess Joel Josh Julie Karen Kate Katie Keisha Kerry "
    "Layla Liam Lily Lisa Logan Lola Louise Lucy Luke Maisie Mandy Maria Mason Maya Megan "
    "Mia Mo Molly Nathan Neil Nia Noah Olivia Omar Oscar Owen Phoebe Rachel Rhys Rosie Ruby "
    "Ryan Saima Sam Sean Shanice Simon Sophie Stacey Stuart Tanya Theo Toby Tracey Vicky "
    "Wes Will Yusuf Zac Zara Zoe"
)
FIRST_NAMES = tuple(_FIRST_NAMES.split())
STREETS = (
    "Alder Road", "Bank Street", "Beech Grove", "Cedar Close", "Chapel Lane", "Church Walk",
    "Dale Street", "Elm Court", "Ferry Road", "Foundry Lane", "Hawthorn Way", "Hill Top",
    "Kiln Street", "Larch Avenue", "Mill Row", "Moor Lane", "Orchard Rise", "Park View",
    "Quarry Road", "Rowan Drive", "Spring Bank", "Station Road", "Tanner Street",
    "Victoria Terrace", "Weaver Court", "Willow Estate",
)
SETTINGS = {  # setting -> (short name in transcripts, phase)
    "Ash Grove Academy": ("Ash Grove", "all-through"),
    "Oakview": ("Oakview", "secondary"),
    "Templeton Academy": ("Templeton", "all-through"),
    "Broadtown": ("Broadtown", "primary"),
    "Southfield": ("Southfield", "secondary"),
}
ROLES = (
    "Teaching Assistant", "Learning Mentor", "Attendance Officer", "Family Liaison Officer",
    "Pastoral Lead", "Class Teacher", "Designated Safeguarding Lead", "SENCo",
    "Family Support Worker", "Deputy Headteacher", "Headteacher", "Head of Site",
)
OPENERS = (
    "Honestly, ", "To be fair, ", "I think ", "For me, ", "In my experience, ",
    "Mostly, ", "Sometimes ", "If I'm honest, ", "Looking back, ", "As a team, ",
    "Overall, ", "On the whole, ", "Personally, ", "Often ", "At our school, ",
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


@dataclass(frozen=True)
class Interview:
    """One bundled interview: its questions and, for each, the answer's sentences."""

    document: str
    participant: str
    pairs: tuple[tuple[str, tuple[str, ...]], ...]  # (question, answer sentences)


@dataclass(frozen=True)
class Study:
    interviews: tuple[Interview, ...]
    questions: tuple[str, ...]
    sentences: tuple[str, ...]  # every participant sentence, for recombining
    short_sentences: tuple[str, ...]  # 4-30 words: what a survey answer is made of
    names: re.Pattern[str]  # people named in the study
    places: re.Pattern[str]  # streets and estates named in the study


def _names_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in NAMES_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and not line.startswith("# The") and line[2:3].islower():
            current = line[2:].split()[0].rstrip(",")  # participants, colleagues, settings, estates
            sections[current] = []
        elif line.strip() and not line.startswith("#") and current:
            sections[current].append(line.strip())
    return sections


def _alternation(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in ordered) + r")\b")


@functools.lru_cache(maxsize=1)
def load_study() -> Study:
    """The bundled study, parsed with qualcode's transcript reader."""
    from qualcode.ingest import read_document

    sections = _names_sections()
    interviews, questions, sentences = [], [], []
    for path in sorted((BUNDLED / "transcripts").glob("*.txt")):
        source = read_document(path)
        pairs: list[tuple[str, list[str]]] = []
        participant = None
        for turn in source.turns:
            text = " ".join(source.text[turn.start:turn.end].split())
            if turn.role == "interviewer":
                pairs.append((text, []))
                questions.append(text)
                continue
            participant = participant or turn.speaker
            parts = [p for p in _SENTENCE.split(text) if p.strip()]
            if not pairs:
                pairs.append(("", []))
            pairs[-1][1].extend(parts)
            sentences.extend(parts)
        interviews.append(Interview(
            source.id, participant or "Participant",
            tuple((q, tuple(a)) for q, a in pairs if a)))
    short = tuple(s for s in sentences if 4 <= len(s.split()) <= 30)
    return Study(tuple(interviews), tuple(questions), tuple(sentences), short,
                 _alternation(sections.get("participants", []) + sections.get("colleagues", [])),
                 _alternation(sections.get("estates", [])))


def _renamer(rng: random.Random, study: Study, keep: dict[str, str]):
    """A function renaming people and streets consistently within one document."""
    mapping = dict(keep)

    def person(match: re.Match[str]) -> str:
        word = match.group()
        if word not in mapping:
            mapping[word] = rng.choice(FIRST_NAMES)
        return mapping[word]

    def place(match: re.Match[str]) -> str:
        word = match.group()
        if word not in mapping:
            mapping[word] = rng.choice(STREETS)
        return mapping[word]

    def rename(text: str) -> str:
        return study.places.sub(place, study.names.sub(person, text))

    return rename


def _answer(rng: random.Random, own: tuple[str, ...], pool: tuple[str, ...]) -> list[str]:
    """About half the interview's own sentences, half from the pool, lightly shuffled."""
    size = max(1, min(12, len(own) + rng.randint(-2, 2)))
    picked = [rng.choice(own) if rng.random() < 0.5 else rng.choice(pool) for _ in range(size)]
    for i in range(len(picked) - 1):  # swap neighbours now and then: order stays plausible
        if rng.random() < 0.25:
            picked[i], picked[i + 1] = picked[i + 1], picked[i]
    return picked


def generate_transcripts(count: int, *, seed: int = 0
                         ) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``(document id, transcript text, case attributes)`` for ``count`` transcripts."""
    study = load_study()
    rng = random.Random(seed)
    start = dt.date(2023, 1, 9)
    for n in range(1, count + 1):
        base = rng.choice(study.interviews)
        name = rng.choice(FIRST_NAMES)
        setting = rng.choice(list(SETTINGS))
        short, phase = SETTINGS[setting]
        rename = _renamer(rng, study, {base.participant: name})
        timestamps = rng.random() < 0.2
        clock = rng.randint(5, 40)
        lines = []
        for question, own in base.pairs:
            if rng.random() < 0.15:
                question = rng.choice(study.questions)
            answer = " ".join(_answer(rng, own, study.sentences))
            turns = [("INTERVIEWER", rename(question)), (f"{name}, {short}", rename(answer))]
            for label, text in turns:
                if not text:
                    continue
                if timestamps:
                    stamp = dt.timedelta(seconds=clock)
                    lines.append(f"[{_clock(stamp)}] {label}: {text}")
                    clock += 4 + len(text.split()) // 3
                else:
                    lines.append(f"{label}: {text}")
        document = f"G{n:07d}_{name.lower()}"
        date = start + dt.timedelta(days=n // 3)
        attributes = {"participant": name, "setting": setting, "role": rng.choice(ROLES),
                      "phase": phase, "date": date.isoformat()}
        yield document, "\n\n".join(lines) + "\n", attributes


def _clock(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def write_transcripts(folder: Path, *, documents: int | None = None,
                      megabytes: float | None = None, seed: int = 0) -> dict[str, float]:
    """Write transcripts (``documents`` of them, or until ``megabytes`` of text) and a
    ``cases.csv`` into ``folder``; returns counts."""
    if (documents is None) == (megabytes is None):
        raise SystemExit("Give --documents or --megabytes (one of them).")
    folder.mkdir(parents=True, exist_ok=True)
    limit = None if megabytes is None else megabytes * 1_000_000
    written = 0
    count = 0
    cases = folder / "cases.csv"
    with cases.open("w", encoding="utf-8", newline="") as table:
        out = csv.writer(table)
        out.writerow(["document", "participant", "setting", "role", "phase", "date"])
        for document, text, attributes in generate_transcripts(
                documents if documents is not None else 10**9, seed=seed):
            data = text.encode("utf-8")
            (folder / f"{document}.txt").write_bytes(data)
            out.writerow([document, *attributes.values()])
            written += len(data)
            count += 1
            if limit is not None and written >= limit:
                break
    return {"documents": count, "megabytes": round(written / 1_000_000, 2)}


def generate_responses(count: int, *, seed: int = 0) -> Iterator[dict[str, str]]:
    """``count`` survey rows: id, setting, role, phase, response."""
    study = load_study()
    rng = random.Random(seed)
    pool = study.short_sentences
    for n in range(1, count + 1):
        rename = _renamer(rng, study, {})
        size = rng.choices((1, 2, 3), weights=(3, 5, 2))[0]
        parts = [rng.choice(pool) for _ in range(size)]
        if rng.random() < 0.4:
            first = parts[0]
            if not re.match(r"I\b|I'", first) and not study.names.match(first):
                first = first[0].lower() + first[1:]  # "Honestly, we ..." but "..., I ..."
            parts[0] = rng.choice(OPENERS) + first
        setting = rng.choice(list(SETTINGS))
        yield {"id": f"R{n:07d}", "setting": setting, "role": rng.choice(ROLES),
               "phase": SETTINGS[setting][1], "response": rename(" ".join(parts))}


def write_survey(path: Path, *, responses: int, seed: int = 0) -> dict[str, float]:
    """Write ``responses`` rows to a CSV at ``path``; returns counts (and the share of
    distinct answers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    distinct: set[int] = set()
    with path.open("w", encoding="utf-8", newline="") as table:
        out = csv.DictWriter(table, ["id", "setting", "role", "phase", "response"])
        out.writeheader()
        for row in generate_responses(responses, seed=seed):
            distinct.add(hash(row["response"]))
            out.writerow(row)
    return {"responses": responses, "megabytes": round(path.stat().st_size / 1_000_000, 2),
            "distinct_share": round(len(distinct) / max(responses, 1), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    transcripts = kinds.add_parser("transcripts", help="a folder of transcripts + cases.csv")
    transcripts.add_argument("folder", type=Path)
    transcripts.add_argument("--documents", type=int, default=None)
    transcripts.add_argument("--megabytes", type=float, default=None)
    transcripts.add_argument("--seed", type=int, default=0)
    survey = kinds.add_parser("survey", help="a CSV of open-ended survey answers")
    survey.add_argument("path", type=Path)
    survey.add_argument("--responses", type=int, required=True)
    survey.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.kind == "transcripts":
        print(write_transcripts(args.folder, documents=args.documents,
                                megabytes=args.megabytes, seed=args.seed))
    else:
        print(write_survey(args.path, responses=args.responses, seed=args.seed))


if __name__ == "__main__":
    main()
