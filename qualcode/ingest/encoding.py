"""Turn the bytes of a text file into normalised text, guessing the encoding carefully.

Order of the guess: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32), then UTF-16 without a
mark (recognised by its NUL bytes), then strict UTF-8, then cp1252 (what Windows editors
and Excel write), then Latin-1. Files that are not text at all (an image, a PDF, a Word
document renamed ``.txt``) are refused with a message saying what they look like.
"""

from __future__ import annotations

import codecs
import re
from os import PathLike

from qualcode.errors import ReaderError
from qualcode.ingest.base import read_bytes
from qualcode.model import normalise_text

__all__ = ["decode_bytes", "read_text_file"]

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Magic numbers of files people rename or mistake for text, with what to tell them.
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF; copy its text into a .txt or .docx file"),
    (b"PK\x03\x04", "a zip archive (a .docx, .odt or .xlsx with the wrong suffix?); give it "
                    "its proper suffix"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office file (.doc/.xls); save it as .docx or .xlsx"),
    (b"{\\rtf", "an RTF document; save it as .docx or .txt"),
    (b"ID3", "an MP3 recording; transcribe it first"),
    (b"RIFF", "a WAV or AVI recording; transcribe it first"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F])  # the same, as bytes
_NON_SPACE = re.compile(r"\S")
_SAMPLE = 64 * 1024


def _guess_utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` if NUL bytes sit on one side of most byte pairs (ASCII-heavy text)."""
    sample = data[: _SAMPLE - (_SAMPLE % 2)]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if odd_nuls > 0.4 * pairs and even_nuls < 0.05 * pairs:
        return "utf-16-le"
    if even_nuls > 0.4 * pairs and odd_nuls < 0.05 * pairs:
        return "utf-16-be"
    return None


def _not_text(path: str, what: str) -> ReaderError:
    return ReaderError(
        f"This is not a text file: it looks like {what}. Check that it is the transcript "
        "you meant, or leave it out.",
        path=path,
    )


def decode_bytes(data: bytes, path: str | PathLike[str], *,
                 encoding: str | None = None, line_ends: bool = True) -> tuple[str, str]:
    """Decode a text file's bytes; return ``(normalised text, encoding used)``.

    ``encoding`` forces a codec (a BOM is still dropped). The text is normalised with
    :func:`qualcode.model.normalise_text` (BOM dropped, line ends become ``\\n``; with
    ``line_ends=False`` they are left as they are). Raises :class:`ReaderError` naming
    ``path`` for binary, undecodable, empty or whitespace-only content.
    """
    where = str(path)
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ReaderError(
                f"Unknown encoding {encoding!r}; use a Python codec name such as 'utf-8', "
                "'utf-16' or 'cp1252'.", path=where,
            ) from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ReaderError(
                f"The file is not valid {encoding} (byte {exc.start}); leave out the "
                "encoding to let qualcode detect it, or name the right one.",
                path=where,
            ) from None
        used = encoding
    else:
        text, used = _detect(data, where)
    text = normalise_text(text, line_ends=line_ends)
    if not _NON_SPACE.search(text):
        raise ReaderError(
            "The file is empty (or holds only whitespace). Check that it was exported or "
            "saved with its text, or leave this file out.",
            path=where,
        )
    return text, used


def _detect(data: bytes, where: str) -> tuple[str, str]:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), codec.replace("utf-8-sig", "utf-8")
            except UnicodeDecodeError:
                raise ReaderError(
                    f"The file starts with a {codec} byte-order mark but is not valid "
                    f"{codec}. Open it in a text editor and save it as UTF-8.",
                    path=where,
                ) from None
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise _not_text(where, what)
    if 0 in data[:_SAMPLE]:
        codec = _guess_utf16_without_bom(data)
        if codec is not None:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                text = None
            if text is not None and not _looks_binary(text):
                return text, codec
        raise ReaderError(
            "This is not a text file: it looks like binary data (it contains NUL bytes). If "
            "it is UTF-16 text, name the encoding (encoding='utf-16-le' or 'utf-16-be'; "
            "--encoding on the command line).",
            path=where,
        )
    try:
        text, used = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, used = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            # cp1252 leaves five bytes undefined; Latin-1 decodes anything
            text, used = data.decode("latin-1"), "latin-1"
    # UTF-8, cp1252 and Latin-1 decode a control byte to the same control character and
    # no other byte to one, so a file without such bytes needs no scan of its text.
    if _has_control_bytes(data) and _looks_binary(text):
        raise _not_text(where, "binary data (it is full of control characters)")
    return text, used


def _has_control_bytes(data: bytes) -> bool:
    return any(byte in data for byte in _CONTROL_BYTES)  # each "in" is one memchr


def _looks_binary(text: str) -> bool:
    sample = text[:_SAMPLE]
    return len(_CONTROL.findall(sample)) > max(8, len(sample) // 100)


def read_text_file(path: str | PathLike[str], *, encoding: str | None = None) -> tuple[str, str]:
    """Read and decode a text file: ``(normalised text, encoding used)``.

    See :func:`decode_bytes`.
    """
    return decode_bytes(read_bytes(path), path, encoding=encoding)
