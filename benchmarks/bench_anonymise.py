"""Benchmark: recall and precision of pseudonymisation on the bundled study.

Plants ``--names`` names (a seeded list of realistic first names, surnames, invented
streets, estates and organisations) into copies of the 23 transcripts, in sentences added
at the end of participants' paragraphs, at known offsets. A quarter of the people planted
are mentioned again later (by first name, or "Mrs <surname>"), to test consistency: every
mention of a person whose full name appears somewhere must get the same pseudonym. The
copies go through the whole pipeline (ingest with cases.csv, import of the reference
codings, ``qualcode.privacy.Pseudonymiser(...).propose()`` and ``.apply()``), then:

- recall: the share of planted names wholly replaced (target >= 95%), by kind of mention;
- precision: the share of replacements that are names, judged against the planted names
  and the hand-made list of the corpus's own names (benchmarks/ap_home_visits_names.txt),
  per replacement and per distinct name;
- consistency: the share of planted people whose every mention got the same pseudonym;
- recall on the corpus's own names (every mention of a listed name);
- alignment: every reference coding, after applying, holds the pseudonymised words it
  held before.

Run from the project root::

    .venv/bin/python benchmarks/bench_anonymise.py                 # 200 names, seed 8
    .venv/bin/python benchmarks/bench_anonymise.py --names 400 --seed 1 --json
    .venv/bin/python benchmarks/bench_anonymise.py --no-ner        # speakers/attributes only
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qualcode import api  # noqa: E402
from qualcode.codings_table import import_codings  # noqa: E402
from qualcode.privacy import Pseudonymiser  # noqa: E402
from qualcode.project import Project  # noqa: E402

KNOWN_NAMES = ROOT / "benchmarks" / "ap_home_visits_names.txt"



def words(text: str) -> list[str]:
    return text.split()


# Realistic for English schools in 2022 and absent from the corpus.
FIRST_NAMES = words("""
Olivia Amelia Isla Ava Mia Ivy Lily Freya Florence Evie Poppy Ella Willow Sienna Harper
Oliver Noah George Leo Arthur Muhammad Oscar Theo Harry Freddie Jack Charlie Archie Alfie
Finley Reuben Zainab Fatima Amira Hamza Yusuf Ibrahim Arjun Rohan Kofi Ama Chidi Tomasz
Zofia Oskar Bartek Shannon Kayleigh Jade Chelsea Bradley Connor Declan Niamh Siobhan Rhys
Ffion Grace Mason Ellie Demi Tanisha Jaylen Aaliyah Precious Kacper Wiktoria Maisie
Phoebe Erin Summer Layla Maryam Hafsa Inaya Jasmine Ruby Millie Scarlett Esme Nancy Mabel
Ethan Lucas Logan Dylan Ryan Lewis Callan Tyrone Marcel Abdullah Bilal Zayn Ayaan
Ravinder Gurpreet Simran Deepak Nikhil Tariq Aleksander Maja Lena Andrei Ioana Darius
Shauna Tiegan Brooke Harley Kenzie Corey Liam Owen Ewan
""")
SURNAMES = words("""
Whitfield Okafor Kowalski Pennington Haworth Begum Ashworth Mensah Doyle Fairclough Hussain
Nowak Thornton Brennan Oyelaran Pickering Gallagher Rahman Sutcliffe Clegg Mahmood Dunmore
Kaur Wilcox Atherton Gribben Szymanski Obi Ramsden Kershaw Akhtar Lomax Bradshaw Quigley
Nwachukwu Hargreaves Iqbal Ferriday Costello Barraclough Openshaw Tattersall Haslam
Entwistle Kenyon Ollerenshaw Butterworth Greenhalgh Mistry Chaudhry Bibi Adeyemi Asante
Boateng Wojcik Lewandowski Popescu Murray McAllister Donnelly Riordan Farrell Kavanagh
Davies Pritchard Llewellyn Jones-Hughes Evans Walsh Holroyd Ackroyd Sugden Firth Crowther
Whiteley Bamford Marsden Hirst Illingworth Pollard Shackleton Dobson Ingham Cartwright
Hussey Aziz Qureshi Shah Patel Sandhu Gill Bains Dhillon Oduya Francis Campbell Grant
""")
STREETS = """
Kestrel Way|Albury Close|Harrowgate Rise|Pendle Street|Wharfside Court|Foxglove Avenue|
Cragg Lane|Sowerby Road|Heathfield Crescent|Tanner Row|Ingleby Drive|Calder Terrace|
Mossley Walk|Ribble Gardens|Skelwith Road|Oldcastle Lane|Greaves Street|Fernhill Close
""".replace("\n", "").split("|")
ESTATES = words("""
Birchwood Langdale Moorcroft Netherby Skelmoor Thornbury Ashcombe Hollinwood Greyfriars
Kirkholt Lowfield Ravensdale
""")
ORGANISATIONS = """
Hartwell Primary|Moorside Surgery|Fernlea Children's Centre|Calderbrook Academy|
St Aidan's Primary|Northgate Youth Hub|Brackley Family Centre|Ravensdale Community Trust
""".replace("\n", "").split("|")

# (sentence, kinds of its slots). {person} is "First Last", {first}, {last}, {street},
# {estate}, {org}; a slot's planted span is exactly the name.
TEMPLATES = [
    ("I rang {first} about it afterwards.", "first"),
    ("{person} was there as well.", "full name"),
    ("We parked on {street} and walked up.", "street"),
    ("{first}'s mum answered the door.", "first (possessive)"),
    ("Mrs {last} from next door was watching us.", "title + surname"),
    ("It was one of the flats off {street}.", "street"),
    ("Her brother {first} had been excluded too.", "first"),
    ("I went with {person}, our attendance lead.", "full name"),
    ("The family had moved over from {estate} in the summer.", "estate"),
    ("{first} said nothing for the first ten minutes.", "first (sentence start)"),
    ("Dad, {first}, was at work.", "first"),
    ("Everyone knows the {estate}, you don't go up there after dark.", "estate"),
    ("He's at {org} now, which suits him.", "organisation"),
    ("We'd had a referral from {org} the week before.", "organisation"),
    ("{person}'s nan lives round the corner.", "full name (possessive)"),
]
# Later mentions of someone planted earlier.
AGAIN = [
    ("I saw {first} again at the next visit.", "first (known full name)"),
    ("Mrs {last} rang the office later.", "surname (known full name)"),
    ("{first}'s attendance picked up after that.", "first (known full name, possessive)"),
]


@dataclass(frozen=True)
class Planted:
    document: str
    start: int
    end: int
    text: str
    kind: str
    person: str | None  # "First Last" for people, to check consistency


def plant(texts: dict[str, str], n: int, seed: int) -> tuple[dict[str, str], list[Planted]]:
    """Copies of ``texts`` with ``n`` names planted in new sentences at paragraph ends."""
    rng = random.Random(seed)
    slots: list[tuple[str, int]] = []  # (document, paragraph index) of participant paragraphs
    paragraphs = {doc: text.split("\n\n") for doc, text in texts.items()}
    for doc, paras in paragraphs.items():
        for i, para in enumerate(paras):
            if para.strip() and "INTERVIEWER" not in para[:30]:
                slots.append((doc, i))
    additions: dict[tuple[str, int], list[tuple[str, list[tuple[int, int, str, str | None]]]]]
    additions = defaultdict(list)
    people: list[tuple[str, str]] = []
    used_first: set[str] = set()
    used_last: set[str] = set()
    planted_count = 0
    while planted_count < n:
        where = rng.choice(slots)
        template, kind = rng.choice(TEMPLATES)
        exhausted = len(used_first) == len(FIRST_NAMES) or len(used_last) == len(SURNAMES)
        personal = any(s in template for s in ("{first}", "{last}", "{person}"))
        if people and (rng.random() < 0.25 or (exhausted and personal)):
            first, last = rng.choice(people)
            template, kind = rng.choice(AGAIN)
            values = {"first": first, "last": last}
            person = f"{first} {last}"
        else:
            # one person per first name and per surname, so "Mrs Kaur" means one person
            first = last = ""
            if personal:
                first = rng.choice([f for f in FIRST_NAMES if f not in used_first])
                last = rng.choice([s for s in SURNAMES if s not in used_last])
            values = {"first": first, "last": last, "person": f"{first} {last}",
                      "street": rng.choice(STREETS), "estate": rng.choice(ESTATES),
                      "org": rng.choice(ORGANISATIONS)}
            person = f"{first} {last}" if personal else None
            if person:
                used_first.add(first)
                used_last.add(last)
                people.append((first, last))
        sentence, spans = "", []
        for piece in re.split(r"(\{\w+\})", template):
            if piece.startswith("{"):
                value = values[piece[1:-1]]
                spans.append((len(sentence), len(sentence) + len(value), kind, person))
                sentence += value
            else:
                sentence += piece
        additions[where].append((sentence, spans))
        planted_count += len(spans)

    out: dict[str, str] = {}
    planted: list[Planted] = []
    for doc, paras in paragraphs.items():
        pieces, offset = [], 0
        for i, para in enumerate(paras):
            if i:
                pieces.append("\n\n")
                offset += 2
            # keep the paragraph's trailing newline (the file's last) after the additions
            body, tail = (para[:-1], "\n") if para.endswith("\n") else (para, "")
            pieces.append(body)
            offset += len(body)
            for sentence, spans in additions.get((doc, i), []):
                pieces.append(" ")
                offset += 1
                for start, end, kind, person in spans:
                    planted.append(Planted(doc, offset + start, offset + end,
                                           sentence[start:end], kind, person))
                pieces.append(sentence)
                offset += len(sentence)
            pieces.append(tail)
            offset += len(tail)
        out[doc] = "".join(pieces)
    for p in planted:
        assert out[p.document][p.start:p.end] == p.text
    return out, planted


def known_names() -> set[str]:
    lines = KNOWN_NAMES.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=200, help="names to plant")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--no-ner", action="store_true", help="without spaCy's recogniser")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    study = api.bundled_study()
    originals = {p.stem: p.read_text(encoding="utf-8")
                 for p in sorted(study["transcripts"].glob("*.txt"))}
    texts, planted = plant(originals, args.names, args.seed)
    known = known_names()
    timings: dict[str, float] = {}

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "transcripts").mkdir()
        for doc, text in texts.items():
            (work / "transcripts" / f"{doc}.txt").write_text(text, encoding="utf-8")
        shutil.copy(study["cases"], work / "cases.csv")
        path = work / "study.qualcode"
        start = time.perf_counter()
        with api.init(path, codebook=study["codebook"]) as project:
            api.ingest(project, work / "transcripts", cases=work / "cases.csv")
            imported = import_codings(project, study["codings"])
        timings["ingest and import codings"] = time.perf_counter() - start
        start = time.perf_counter()
        proposal = Pseudonymiser(ner=not args.no_ner).propose(path)
        timings["propose (find names)"] = time.perf_counter() - start
        start = time.perf_counter()
        result = proposal.apply(work / "anon.qualcode", work / "key.csv")
        timings["apply (write new project)"] = time.perf_counter() - start
        with Project.open(path) as before, Project.open(work / "anon.qualcode") as after:
            old = [before.text_of(c) for c in before.codings()]
            new = [after.text_of(c) for c in after.codings()]
            aligned = sum(proposal.pseudonymise(o) == n for o, n in zip(old, new, strict=True))
            stored_texts = {d.id: d.text for d in after.documents}

    # recall on planted names
    by_document = defaultdict(list)
    for r in proposal.replacements:
        by_document[r.document_id].append(r)

    def replacement_of(doc: str, start: int, end: int):
        return next((r for r in by_document[doc] if r.start <= start and end <= r.end), None)

    found_by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    missed = []
    pseudonyms_of: dict[str, set[str]] = defaultdict(set)
    for p in planted:
        hit = replacement_of(p.document, p.start, p.end)
        found_by_kind[p.kind][1] += 1
        if hit is not None:
            found_by_kind[p.kind][0] += 1
            if p.person:
                pseudonyms_of[p.person].add(hit.pseudonym)
        else:
            missed.append(p)
            if p.person:
                pseudonyms_of[p.person].add("(not replaced)")
    recall = 1 - len(missed) / len(planted)

    # precision: a replacement is right when it covers planted text or a listed name
    planted_spans = defaultdict(list)
    for p in planted:
        planted_spans[p.document].append((p.start, p.end))

    def is_name(r) -> bool:
        if any(s < r.end and r.start < e for s, e in planted_spans[r.document_id]):
            return True
        return r.text in known or r.name in known

    right = [r for r in proposal.replacements if is_name(r)]
    wrong = [r for r in proposal.replacements if not is_name(r)]
    precision = len(right) / len(proposal.replacements) if proposal.replacements else 1.0
    wrong_names = sorted({r.name for r in wrong})
    distinct = {n.real for n in proposal.names if n.mentions}
    distinct_precision = 1 - len(wrong_names) / len(distinct) if distinct else 1.0
    # Consistency is only knowable for people whose full name appears at least once: the
    # text alone cannot say that "Arthur" and "Mrs Hirst" are one person.
    named = {p.person for p in planted if p.person and p.kind.startswith("full name")}
    pseudonyms_of = {p: v for p, v in pseudonyms_of.items() if p in named}
    consistent = sum(len(v) == 1 for v in pseudonyms_of.values())

    # recall on the corpus's own names: every whole-word mention in the original texts
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(
        re.escape(k) for k in sorted(known, key=len, reverse=True)) + r")(?!\w)")
    own_total = own_found = 0
    own_missed: dict[str, int] = defaultdict(int)
    for doc, text in texts.items():
        for m in pattern.finditer(text):
            own_total += 1
            if replacement_of(doc, m.start(), m.end()) is not None:
                own_found += 1
            else:
                own_missed[m.group()] += 1
    leaked = sorted(k for k in known if any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", t)
                                            for t in stored_texts.values()))

    figures = {
        "planted_names": len(planted),
        "seed": args.seed,
        "ner": not args.no_ner,
        "recall": round(recall, 4),
        "recall_by_kind": {k: f"{f}/{t}" for k, (f, t) in sorted(found_by_kind.items())},
        "precision_per_replacement": round(precision, 4),
        "precision_per_distinct_name": round(distinct_precision, 4),
        "replacements": len(proposal.replacements),
        "distinct_names_replaced": len(distinct),
        "not_names_replaced": wrong_names,
        "consistency": f"{consistent}/{len(pseudonyms_of)} planted people named in full at least "
                       "once had one pseudonym in all their mentions",
        "inconsistent": {p: sorted(v) for p, v in pseudonyms_of.items() if len(v) > 1},
        "recall_on_corpus_names": round(own_found / own_total, 4) if own_total else None,
        "corpus_names_missed": dict(sorted(own_missed.items(), key=lambda kv: -kv[1])),
        "listed_names_left_in_anonymised_text": leaked,
        "codings_aligned": f"{aligned}/{len(old)} (imported {imported.stored})",
        "missed_planted": [f"{p.text} ({p.kind}, {p.document})" for p in missed],
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "documents": result.documents,
    }
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return
    print(f"Planted {len(planted)} names (seed {args.seed}) in {len(texts)} transcripts; "
          f"NER {'on' if not args.no_ner else 'off'}.")
    print(f"Recall (planted names replaced):      {recall:7.1%}  (target >= 95%)")
    for kind, (f, t) in sorted(found_by_kind.items()):
        print(f"    {kind:<38} {f:>4}/{t}")
    print(f"Precision per replacement:            {precision:7.1%}  "
          f"({len(right)}/{len(proposal.replacements)})")
    print(f"Precision per distinct name:          {distinct_precision:7.1%}  "
          f"({len(distinct) - len(wrong_names)}/{len(distinct)})")
    print(f"    replaced but not names: {', '.join(wrong_names) or '-'}")
    print(f"Consistency: {figures['consistency']}")
    for person, pseudonyms in figures["inconsistent"].items():
        print(f"    {person}: {', '.join(pseudonyms)}")
    print(f"Recall on the corpus's own names:     {own_found / own_total:7.1%}  "
          f"({own_found}/{own_total}); missed: "
          f"{', '.join(f'{k} x{v}' for k, v in figures['corpus_names_missed'].items()) or '-'}")
    print(f"Listed names left in the anonymised text: {', '.join(leaked) or 'none'}")
    print(f"Codings aligned after applying: {figures['codings_aligned']}")
    if missed:
        print("Missed planted names: " + "; ".join(figures["missed_planted"]))
    for step, seconds in timings.items():
        print(f"{step:<30} {seconds:6.1f} s")


if __name__ == "__main__":
    main()
