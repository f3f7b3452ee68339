"""Wording shared by messages, summaries and reprs."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``"1 link"``, ``"2 links"``, ``"1,930 codings"``."""
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"
