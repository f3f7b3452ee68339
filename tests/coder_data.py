"""A tiny hand-built study for the coder tests: a codebook, three interviews, codings.

Imported as ``coder_data`` (tests/ is on the pythonpath).
"""

from __future__ import annotations

from builders import make_corpus

from qualcode.model import Code, Codebook, Coding, Corpus, Segment

CODEBOOK = Codebook(
    "tiny",
    (
        Code("visits", name="Visits", definition="Why and how home visits happen."),
        Code("attendance", name="Poor attendance", parent="visits",
             definition="A visit made because the pupil has been absent from school.",
             include="Absence, truancy, not turning up, registers.",
             examples=("He hadn't been in all week so I went round.",
                       "Her attendance had dropped, so we visited."),
             keywords=("attendance", "absent", "hadn't been in"),
             patterns=(r"\bnot been (?:in|seen)\b",)),
        Code("tea", name="Hospitality", parent="visits",
             definition="Being offered or accepting a drink or food in the family's home.",
             examples=("She put the kettle on straight away.",
                       "I always accept a cup of tea."),
             keywords=("cup of tea", "kettle", "biscuit")),
        Code("dogs", name="Pets", parent="visits",
             definition="Animals in the home, especially dogs barking at the door.",
             examples=("The dog was going mad behind the door.",),
             keywords=("dog", "puppy")),
    ),
)

TEXTS = {
    "d1": "INTERVIEWER: Why did you go?\n"
          "Anna: He was absent all week, so I went round.\n"
          "Anna: Mum put the kettle on as soon as we sat down.\n"
          "INTERVIEWER: Anything else?\n"
          "Anna: The dog was barking behind the door.\n"
          "Anna: We talked about the weather for a bit.",
    "d2": "INTERVIEWER: Tell me about the visit.\n"
          "Ben: His attendance was terrible, he hadn't been in for days.\n"
          "Ben: There was a puppy jumping all over us.\n"
          "Ben: I never accept a cup of tea, it's my rule.\n"
          "INTERVIEWER: Why not?\n"
          "Ben: I just don't, I keep it professional.",
    "d3": "INTERVIEWER: What happened next?\n"
          "Cara: She had not been seen at school since Monday.\n"
          "Cara: They offered me a biscuit and a brew.\n"
          "Cara: Their dog growled at us the whole time.\n"
          "INTERVIEWER: How did it end?\n"
          "Cara: We left after twenty minutes.",
}

# Which codes a person gave each segment (by document and segment index).
LABELS = {
    ("d1", 1): ("attendance",), ("d1", 2): ("tea",), ("d1", 4): ("dogs",),
    ("d2", 1): ("attendance",), ("d2", 2): ("dogs",), ("d2", 3): ("tea",),
    ("d3", 1): ("attendance",), ("d3", 2): ("tea",), ("d3", 3): ("dogs",),
}


def corpus() -> Corpus:
    return make_corpus(TEXTS)


def segments() -> list[Segment]:
    return list(corpus().segments)


def codings(coder: str = "alice") -> list[Coding]:
    """Accepted codings of ``coder``: each labelled segment, whole."""
    out = []
    for segment in segments():
        for code_id in LABELS.get((segment.document_id, segment.index), ()):
            out.append(Coding(segment.document_id, segment.start, segment.end, code_id,
                              coder=coder, method="manual", status="accepted"))
    return out
