"""Open zip archives and XML from someone else without trusting them.

DOCX, ODT, XLSX and REFI-QDA (.qdpx) files are zip archives of XML. A file from a
colleague, a transcription service or the internet may be hostile: member names that climb
out of a folder (``../../.bashrc``), a "zip bomb" that inflates a few kilobytes into
gigabytes, or XML whose entities expand exponentially ("billion laughs") or fetch external
files. This module is the one place that opens such files.

>>> with open_zip("interview.odt") as archive:                    # doctest: +SKIP
...     root = parse_xml(archive.read("content.xml"), "interview.odt:content.xml")

:func:`open_zip` checks the whole central directory before anything is read (member
names, member count, declared sizes, compression ratios) and :meth:`SafeZip.read` then
streams each member with a hard byte cap, so a header that lies about its size cannot
inflate past the limits either. :func:`check_archive` runs the same checks for code that
hands the file to another library afterwards (python-docx, openpyxl). :func:`parse_xml`
refuses any DTD (and so every entity declaration and external reference) and reports
malformed XML with its line.

Every refusal is an :class:`~qualcode.errors.UnsafeInputError` naming the file; a file
that is simply not a zip, or is damaged, is a :class:`~qualcode.errors.ReaderError`.
"""

from __future__ import annotations

import re
import stat
import zipfile
import zlib
from os import PathLike
from types import TracebackType
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from qualcode.errors import ReaderError, UnsafeInputError

__all__ = [
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_TOTAL_SIZE",
    "RATIO_MIN_SIZE",
    "SafeZip",
    "check_archive",
    "open_zip",
    "parse_xml",
]

MAX_TOTAL_SIZE = 512 * 1024 * 1024
"""Default cap on the uncompressed size of all members together (512 MiB)."""
MAX_MEMBERS = 10_000
"""Default cap on the number of members."""
MAX_RATIO = 200
"""Default cap on one member's uncompressed / compressed size."""
RATIO_MIN_SIZE = 1024 * 1024
"""Members smaller than this (1 MiB) are not held to the ratio: tiny members compress
arbitrarily well (a run of spaces) and cannot do harm within the total cap."""

_CHUNK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")

Source = str | PathLike[str] | IO[bytes]


def _describe(source: Source, source_name: str | None) -> str:
    if source_name:
        return source_name
    if isinstance(source, (str, PathLike)):
        return str(source)
    return str(getattr(source, "name", "<archive>"))


def _unsafe_name_reason(name: str) -> str | None:
    """Why a member name could escape the folder it is extracted to, or None if it is safe."""
    if "\x00" in name:
        return "contains a NUL character"
    if name.startswith(("/", "\\")):
        return "is an absolute path"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    parts = re.split(r"[\\/]", name)
    if ".." in parts:
        return "climbs out of the archive with '..'"
    return None


class SafeZip:
    """A zip archive whose central directory passed the safety checks.

    Make one with :func:`open_zip` (a context manager). ``names`` lists the members;
    :meth:`find` looks a name up case-insensitively (REFI-QDA writers disagree on
    ``Sources/`` and ``sources/``); :meth:`read` returns a member's bytes, streaming with a
    hard cap.
    """

    def __init__(
        self,
        source: Source,
        *,
        source_name: str | None = None,
        max_total_size: int = MAX_TOTAL_SIZE,
        max_members: int = MAX_MEMBERS,
        max_ratio: float = MAX_RATIO,
        max_member_size: int | None = None,
        ratio_min_size: int = RATIO_MIN_SIZE,
    ) -> None:
        self.source_name = _describe(source, source_name)
        self.max_total_size = max_total_size
        self.max_members = max_members
        self.max_ratio = max_ratio
        self.max_member_size = max_total_size if max_member_size is None else max_member_size
        self.ratio_min_size = ratio_min_size
        self._read_so_far = 0
        try:
            self._zip = zipfile.ZipFile(source)
        except FileNotFoundError:
            raise ReaderError(
                "The file does not exist. Check the path.", path=self.source_name
            ) from None
        except OSError as exc:
            raise ReaderError(f"The file cannot be opened: {exc.strerror or exc}.",
                              path=self.source_name) from None
        except Exception as exc:  # zipfile raises many kinds for damaged archives
            raise ReaderError(
                f"This is not a readable zip archive ({exc}). If it is a .docx, .odt or .xlsx, "
                "open it in its program and save it again.",
                path=self.source_name,
            ) from None
        try:
            self._infos = self._checked_infos()
        except BaseException:
            self._zip.close()
            raise
        self._by_name = {info.filename: info for info in self._infos}
        self._by_folded: dict[str, str] = {}
        for info in self._infos:
            self._by_folded.setdefault(info.filename.casefold(), info.filename)

    # -- the checks ----------------------------------------------------------------
    def _refuse(self, message: str) -> UnsafeInputError:
        return UnsafeInputError(
            f"Refused to open this archive: {message}. It may be damaged or hostile; do not "
            "open it with other tools either, and ask its sender for a fresh copy.",
            path=self.source_name,
        )

    def _checked_infos(self) -> list[zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > self.max_members:
            raise self._refuse(
                f"it holds {len(infos):,} members, more than the limit of {self.max_members:,}"
            )
        seen: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            reason = _unsafe_name_reason(name)
            if reason:
                raise self._refuse(f"member name {name!r} {reason}")
            if name in seen:
                raise self._refuse(f"member name {name!r} appears twice")
            seen.add(name)
            mode = info.external_attr >> 16
            if mode and stat.S_ISLNK(mode):
                raise self._refuse(f"member {name!r} is a symbolic link")
            if info.file_size > self.max_member_size:
                raise self._refuse(
                    f"member {name!r} would inflate to {info.file_size:,} bytes, more than the "
                    f"limit of {self.max_member_size:,}"
                )
            self._check_ratio(name, info.file_size, info.compress_size)
            total += info.file_size
            if total > self.max_total_size:
                raise self._refuse(
                    f"its members would inflate to more than {self.max_total_size:,} bytes"
                )
        return infos

    def _check_ratio(self, name: str, size: int, compressed: int) -> None:
        if size < self.ratio_min_size:
            return
        ratio = size / max(compressed, 1)
        if ratio > self.max_ratio:
            raise self._refuse(
                f"member {name!r} is compressed {ratio:,.0f} to 1, more than the limit of "
                f"{self.max_ratio:g} to 1 (a zip bomb)"
            )

    # -- access ----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Member names, in archive order."""
        return [info.filename for info in self._infos]

    def find(self, name: str) -> str | None:
        """The member called ``name``, matched exactly, else case-insensitively; or None.

        Backslashes in ``name`` count as ``/``.
        """
        name = name.replace("\\", "/")
        if name in self._by_name:
            return name
        return self._by_folded.get(name.casefold())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def read(self, name: str, *, max_size: int | None = None) -> bytes:
        """The bytes of member ``name`` (found as :meth:`find` does).

        Streams the member and stops with :class:`UnsafeInputError` as soon as it passes
        ``max_size`` (default: the per-member limit), the archive's remaining total budget,
        or the compression-ratio limit, whatever its header claims.
        """
        actual = self.find(name)
        if actual is None:
            raise ReaderError(f"The archive has no member {name!r}.", path=self.source_name)
        info = self._by_name[actual]
        if info.flag_bits & 0x1:
            raise ReaderError(
                "The file is password-protected. Save an unprotected copy and read that.",
                path=self.source_name,
            )
        cap = min(
            self.max_member_size if max_size is None else max_size,
            self.max_total_size - self._read_so_far,
        )
        chunks: list[bytes] = []
        size = 0
        try:
            with self._zip.open(info) as stream:
                while True:
                    chunk = stream.read(_CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > cap:
                        raise self._refuse(
                            f"member {actual!r} inflates past the limit of {cap:,} bytes"
                        )
                    self._check_ratio(actual, size, info.compress_size)
                    chunks.append(chunk)
        except UnsafeInputError:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError, zlib.error) as exc:
            raise ReaderError(
                f"Member {actual!r} cannot be read ({exc}); the file is damaged. Open it in "
                "its program and save it again.",
                path=self.source_name,
            ) from None
        self._read_so_far += size
        return b"".join(chunks)

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_zip(
    source: Source,
    *,
    source_name: str | None = None,
    max_total_size: int = MAX_TOTAL_SIZE,
    max_members: int = MAX_MEMBERS,
    max_ratio: float = MAX_RATIO,
    max_member_size: int | None = None,
    ratio_min_size: int = RATIO_MIN_SIZE,
) -> SafeZip:
    """Open a zip (a path or a binary file object) after checking its central directory.

    Raises :class:`UnsafeInputError` for traversal names (absolute, ``..``, drive letters,
    backslash tricks), duplicate names, symbolic links, more than ``max_members`` members,
    more than ``max_total_size`` bytes in all, a member above ``max_member_size`` (default:
    ``max_total_size``), or a member above ``ratio_min_size`` bytes compressed more than
    ``max_ratio`` to 1. Raises :class:`ReaderError` when the file is not a zip at all.
    """
    return SafeZip(
        source,
        source_name=source_name,
        max_total_size=max_total_size,
        max_members=max_members,
        max_ratio=max_ratio,
        max_member_size=max_member_size,
        ratio_min_size=ratio_min_size,
    )


_DTD_MARKERS = (b"<!doctype", "<!doctype".encode("utf-16-le"), "<!doctype".encode("utf-16-be"))
_PROLOG_BYTES = 64 * 1024  # a DTD must come before the root element, i.e. near the start


def check_archive(source: Source, **limits: object) -> None:
    """Run :func:`open_zip`'s checks, refuse any XML member that declares a DTD, and close
    the archive again.

    For code that then hands the file to a library that opens it itself (python-docx,
    openpyxl), whose XML parsers would otherwise read a DTD (and drop or resolve its
    entities). Python's :mod:`zipfile` never inflates a member past the size its central
    directory declares, so checking the declared sizes bounds what such a library can read.
    """
    with open_zip(source, **limits) as archive:  # type: ignore[arg-type]
        for name in archive.names:
            if not name.lower().endswith((".xml", ".rels")):
                continue
            head = archive.read(name)[:_PROLOG_BYTES].lower()
            if any(marker in head for marker in _DTD_MARKERS):
                raise UnsafeInputError(
                    f"Refused: member {name} declares a DTD, which can define entities that "
                    "expand without limit or fetch outside files. qualcode reads no DTDs; "
                    "export the file again from its program.",
                    path=getattr(source, "name", source),
                )


def parse_xml(data: bytes | str, source_name: str) -> Element:
    """Parse XML from an untrusted source into an :class:`xml.etree.ElementTree.Element`.

    Any DTD is refused (so no entity can expand and no external file or URL is fetched):
    :class:`UnsafeInputError`. Malformed XML is a :class:`ReaderError` whose ``line`` is
    where the parser stopped. ``source_name`` names the file in messages (for a member of
    an archive, e.g. ``"interview.odt:content.xml"``).
    """
    from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise UnsafeInputError(
            "Refused: the XML declares a DTD, which can define entities that expand "
            "without limit or fetch outside files. qualcode reads no DTDs; export the file "
            "again from its program.",
            path=source_name,
        ) from None
    except EntitiesForbidden:
        raise UnsafeInputError(
            "Refused: the XML declares entities (an entity-expansion attack or an external "
            "reference). Export the file again from its program.",
            path=source_name,
        ) from None
    except DefusedXmlException:
        raise UnsafeInputError(
            "Refused: the XML refers to an outside resource. Export the file again from "
            "its program.",
            path=source_name,
        ) from None
    except ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        detail = str(exc).split(":")[0]
        raise ReaderError(
            f"The XML is malformed ({detail}). The file is damaged; open it in its program "
            "and save it again.",
            path=source_name,
            line=line,
        ) from None
