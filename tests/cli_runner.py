"""Running the command line inside a test: the real entry point, its exit code and output."""

from __future__ import annotations

import io

import pytest

from qualcode.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: object, keys: str | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    """``qualcode ARGS...`` as a user runs it (paths and numbers become text): ``(exit
    code, stdout, stderr)``. ``keys`` (with ``monkeypatch``) are typed on standard input,
    where `qualcode review` reads them."""
    if keys is not None:
        assert monkeypatch is not None, "typing keys needs the monkeypatch fixture"
        monkeypatch.setattr("sys.stdin", io.StringIO(keys))
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
