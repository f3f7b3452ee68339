"""Where a REFI-QDA selection lands in qualcode's text.

The standard counts ``startPosition``/``endPosition`` in Unicode code points from 0 over the
plain-text source. Real exports differ: NVivo counts UTF-16 code units (an emoji is two)
over the text with its CRLF line ends, and leaves the byte-order mark out. qualcode stores
the *normalised* text (no BOM, ``\\n`` line ends; :func:`qualcode.model.normalise_text`),
so every position is mapped from the producer's units to a code point in that text.

A :class:`Reading` is one way to interpret positions (units, whether CRLF counts as two,
whether the BOM counts as position 0). :func:`choose_reading` scores the readings on the
evidence (selections that stay inside the text, start and end on word boundaries, and match
the quotation text some tools store in the selection's ``name``) and keeps the best one,
breaking ties by what the producing tool is known to do, then by the standard.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qualcode.model import normalise_text

UNITS = ("codepoints", "utf16")

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Reading:
    """One interpretation of a producer's positions."""

    units: str = "codepoints"  # "codepoints" or "utf16"
    crlf_as_two: bool = True  # positions count the source's CRLF as two characters
    bom_counted: bool = False  # the byte-order mark is position 0

    def describe(self) -> str:
        units = "UTF-16 code units" if self.units == "utf16" else "Unicode code points"
        lines = "CRLF counted as two" if self.crlf_as_two else "CRLF counted as one"
        bom = "the byte-order mark counted" if self.bom_counted else "no byte-order mark"
        return f"{units} ({lines}, {bom})"


@dataclass(frozen=True)
class Selection:
    """A selection's raw positions and the quotation text its producer stored, if any."""

    start: int
    end: int
    name: str = ""


class SourceText:
    """A source's text as its producer saw it, and the maps from its positions to qualcode's.

    ``raw`` is the decoded file without its byte-order mark (``had_bom`` says whether it had
    one); :attr:`text` is the normalised text qualcode stores.
    """

    def __init__(self, raw: str, *, had_bom: bool = False) -> None:
        self.raw = raw
        self.had_bom = had_bom
        # The mark is already gone: normalise line ends only (a text may itself start with
        # U+FEFF, which a second normalise_text would drop).
        self.text = normalise_text("\ufeff" + raw)
        self.has_crlf = "\r" in raw
        self._cr_pairs = [m.start() for m in re.finditer("\r\n", raw)]
        self._astral_raw = _utf16_starts(raw)
        self._astral_text = _utf16_starts(self.text)

    def offset(self, position: int, reading: Reading, *, end: bool) -> int | None:
        """The code point offset in :attr:`text` of one position, or None when outside."""
        p = position - (1 if reading.bom_counted and self.had_bom else 0)
        if p < 0:
            return 0 if p == -1 else None  # a selection that starts on the mark itself
        base, astral = (self.raw, self._astral_raw) if reading.crlf_as_two else (
            self.text, self._astral_text)
        if reading.units == "utf16":
            k = bisect_left(astral, p)  # astral characters starting before p
            if p > len(base) + len(astral):
                return None
            if k and astral[k - 1] == p - 1:  # between the two halves of a surrogate pair
                p = astral[k - 1] - (k - 1) + (1 if end else 0)
            else:
                p -= k
        elif p > len(base):
            return None
        if not reading.crlf_as_two:
            return p
        # Raw -> normalised: each CRLF before p loses its CR.
        return p - bisect_left(self._cr_pairs, p)

    def span(self, start: int, end: int, reading: Reading) -> tuple[int, int] | None:
        """``(start, end)`` in :attr:`text`, or None when the selection falls outside it."""
        a = self.offset(start, reading, end=False)
        b = self.offset(end, reading, end=True)
        if a is None or b is None or b < a:
            return None
        return a, b


def _utf16_starts(text: str) -> list[int]:
    # UTF-16 offset of each astral character: its index plus the astral ones before it.
    return [m.start() + k for k, m in enumerate(_ASTRAL.finditer(text))]


def readings(sources: Iterable[SourceText], units: str | None = None) -> list[Reading]:
    """The readings worth comparing for these sources (the others give the same spans)."""
    sources = list(sources)
    crlf = any(s.has_crlf for s in sources)
    bom = any(s.had_bom for s in sources)
    astral = any(s._astral_raw for s in sources)
    unit_options = [units] if units else (list(UNITS) if astral else ["codepoints"])
    return [
        Reading(u, two, counted)
        for u in unit_options
        for two in ((True, False) if crlf else (True,))
        for counted in ((False, True) if bom else (False,))
    ]


@dataclass(frozen=True)
class Evidence:
    """How well a reading fits: selections inside the text, on word boundaries, matching
    the stored quotation text."""

    reading: Reading
    selections: int
    inside: int
    on_boundaries: int
    named: int
    name_matches: int

    @property
    def score(self) -> int:
        outside = self.selections - self.inside
        return self.on_boundaries + 4 * self.name_matches - 10 * outside

    def describe(self) -> str:
        parts = [f"{self.inside} of {self.selections} selections inside the text",
                 f"{self.on_boundaries} of {self.inside} start and end on word boundaries"]
        if self.named:
            parts.append(f"{self.name_matches} of {self.named} match the quotation text "
                         "stored with them")
        return "; ".join(parts)


def evidence(
    reading: Reading, sources: Sequence[tuple[SourceText, Sequence[Selection]]]
) -> Evidence:
    total = inside = boundaries = named = matches = 0
    for source, selections in sources:
        text = source.text
        for selection in selections:
            total += 1
            span = source.span(selection.start, selection.end, reading)
            name = _quotation(selection.name)
            if name:
                named += 1
            if span is None:
                continue
            inside += 1
            a, b = span
            boundaries += _on_boundary(text, a) and _on_boundary(text, b)
            if name and _matches(text[a:b], name):
                matches += 1
    return Evidence(reading, total, inside, boundaries, named, matches)


def choose_reading(
    sources: Sequence[tuple[SourceText, Sequence[Selection]]],
    *,
    units: str | None = None,
    prefer: str = "codepoints",
    exact: Reading | None = None,
) -> Evidence:
    """The best-supported reading. ``units`` forces the units, ``exact`` the whole reading;
    ``prefer`` breaks ties."""
    candidates = [exact] if exact is not None else readings([s for s, _ in sources], units)

    def rank(reading: Reading) -> tuple[int, int, int]:
        # On equal evidence: the preferred units, the BOM not counted, CRLF as in the file.
        return (reading.units != prefer, reading.bom_counted, not reading.crlf_as_two)

    scored = [evidence(r, sources) for r in sorted(candidates, key=rank)]
    return max(scored, key=lambda e: e.score)  # max keeps the first (best-ranked) of equals


def _on_boundary(text: str, offset: int) -> bool:
    if offset <= 0 or offset >= len(text):
        return True
    return not (text[offset - 1].isalnum() and text[offset].isalnum())


_GENERIC_NAME = re.compile(r"^(?:Quotation|Quote|Selection|Segment)\s*[\d:. ]*$", re.I)


def _quotation(name: str) -> str:
    """The quotation text a selection's name holds, without an ellipsis; '' when none."""
    name = _SPACE.sub(" ", name or "").strip()
    for ellipsis in ("…", "..."):
        name = name.removesuffix(ellipsis).rstrip()
    if len(name) < 4 or _GENERIC_NAME.match(name):
        return ""
    return name


def _matches(excerpt: str, quotation: str) -> bool:
    return _SPACE.sub(" ", excerpt).strip().startswith(quotation)
