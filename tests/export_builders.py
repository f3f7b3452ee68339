"""A small hand-built project for the export tests (imported by test_excerpts, test_tables
and test_cli_exports; tests/ is on pythonpath).

Three interviews with speaker turns and case attributes, a two-theme codebook, accepted,
suggested and rejected codings by two people and a machine, overlapping codings of one
code, and text full of characters that formats must escape: < & % _ { } " ' and emoji.
"""

from __future__ import annotations

from pathlib import Path

from builders import make_corpus

from qualcode.model import Code, Codebook, Coding
from qualcode.project import Project

TEXTS = {
    "d1": (
        "INTERVIEWER: Why did you visit?\n"
        "Anna: He was absent all week. We went round on Monday & the door was shut. "
        'Mum said "come in" and put the kettle on.\n'
        "Anna: It was 100% about attendance_rates {really} 😀. Her tea <was> strong & sweet."
    ),
    "d2": (
        "INTERVIEWER: Tell me more.\n"
        "Ben: We always go in pairs. The Beacon estate is avoided after dark. "
        "He had not been in school for weeks."
    ),
    "d3": (
        "INTERVIEWER: And then?\n"
        "Cara: We went in pairs, as always. The kettle was on when we got there. "
        "Nobody was at the door.\n"
        "Cara: =1+2 was written on the form."
    ),
}

ATTRIBUTES = {
    "d1": {"setting": "Oakview", "role": "Teaching Assistant", "phase": "secondary"},
    "d2": {"setting": "Broadtown", "role": "Head of School", "phase": "primary"},
    "d3": {"setting": "Oakview"},  # no role, no phase: attributions must cope
}

CODEBOOK = Codebook(
    "export test",
    (
        Code("visits", name="Visits", color="#1b9e77"),
        Code("attendance", name="Poor attendance", parent="visits"),
        Code("tea", name="Hospitality", parent="visits"),
        Code("safety", name="Risk & safety", color="#d95f02"),
        Code("pairs", name="Going in pairs", parent="safety"),
        Code("streets", name="Streets avoided", parent="safety"),
        Code("unused", name="Never coded", parent="safety"),
    ),
)


def span(document: str, words: str) -> tuple[int, int]:
    """Offsets of ``words`` in a test document (they must occur exactly once)."""
    text = TEXTS[document]
    start = text.find(words)
    assert start >= 0 and text.count(words) == 1, words
    return start, start + len(words)


def coding(document: str, words: str, code: str, coder: str = "alice", **kw) -> Coding:
    start, end = span(document, words)
    return Coding(document, start, end, code, coder=coder, **kw)


CODINGS = [
    # d1: two overlapping attendance codings (alice, bob) -> one excerpt
    coding("d1", "He was absent all week.", "attendance"),
    coding("d1", "absent all week. We went round on Monday & the door was shut.",
           "attendance", coder="bob"),
    coding("d1", 'Mum said "come in" and put the kettle on.', "tea"),
    coding("d1", "It was 100% about attendance_rates {really} 😀.", "attendance"),
    coding("d1", "Her tea <was> strong & sweet.", "tea", coder="machine", method="rules",
           confidence=0.8, status="suggested"),
    coding("d1", "We went round on Monday", "pairs", coder="machine", method="rules",
           confidence=0.4, status="rejected"),
    # d2: one turn holding pairs, streets (two overlapping codings) and attendance
    coding("d2", "We always go in pairs.", "pairs"),
    coding("d2", "The Beacon estate is avoided after dark.", "streets"),
    coding("d2", "pairs. The Beacon estate", "streets", coder="bob"),
    coding("d2", "He had not been in school for weeks.", "attendance"),
    # d3
    coding("d3", "We went in pairs, as always.", "pairs"),
    coding("d3", "The kettle was on when we got there.", "tea"),
    # a rejected machine coding whose words would be a spreadsheet formula
    coding("d3", "=1+2 was written on the form.", "tea", coder="machine", method="rules",
           confidence=0.3, status="rejected"),
]


def build_project(path: Path) -> Path:
    """Create the test project at ``path`` and return the path (closed)."""
    corpus = make_corpus(TEXTS)
    with Project.create(path, codebook=CODEBOOK) as project:
        project.add_corpus(corpus)
        for doc_id, attributes in ATTRIBUTES.items():
            project.set_attributes(doc_id, attributes)
        project.add_codings(CODINGS)
    return path
