"""Offline by design (issue 8, part 4).

With every network socket blocked, the whole pipeline runs on the bundled study: ingest,
import of the reference codings, open coding (topic candidates), the rules, semantic and
supervised coders, agreement, saturation, every export, and pseudonymisation. The blocker
records each attempt, so a library that tries to call home and quietly swallows the failure
is caught too. A static test checks that no module of qualcode imports a networking
library, so no telemetry can creep in.
"""

from __future__ import annotations

import ast
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from qualcode import api
from qualcode.project import Project

SMALL = ["AP01_sarah", "AP05_dave", "AP09_aisha", "AP13_donna"]


class NetworkAttempt(OSError):
    pass


@pytest.fixture(scope="module")
def attempts() -> Iterator[list[str]]:
    """Block connect/DNS for the whole module; yield the list of attempts made."""
    seen: list[str] = []

    def refuse(name: str):
        def blocked(*args: object, **kwargs: object) -> None:
            seen.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise NetworkAttempt(f"qualcode tried to use the network ({name})")
        return blocked

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse("socket.connect"))
        patch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
        patch.setattr(socket, "create_connection", refuse("create_connection"))
        patch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        patch.setattr(socket, "gethostbyname", refuse("gethostbyname"))
        yield seen


@pytest.fixture(autouse=True)
def no_attempts(attempts: list[str]) -> Iterator[None]:
    before = len(attempts)
    yield
    assert attempts[before:] == [], "network use while offline"


def test_the_blocker_blocks(attempts: list[str]) -> None:
    with pytest.raises(OSError):
        socket.create_connection(("example.org", 80), timeout=1)
    with pytest.raises(OSError):
        socket.getaddrinfo("example.org", 443)
    assert len(attempts) >= 2
    del attempts[-2:]  # expected ones


@pytest.fixture(scope="module")
def study(attempts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled study, ingested (stage 1) with its reference codings imported (stage 2)."""
    from qualcode.codings_table import import_codings

    paths = api.bundled_study()
    path = tmp_path_factory.mktemp("offline") / "study.qualcode"
    with api.init(path, codebook=paths["codebook"]) as project:
        summary = api.ingest(project, paths["transcripts"], cases=paths["cases"])
        assert len(summary.added) == 23
        report = import_codings(project, paths["codings"])
        assert report.stored > 500
    return path


@pytest.fixture(scope="module")
def small(attempts: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four interviews of the study with their reference codings: for the stages that
    load a model, so they stay quick."""
    import pandas as pd

    from qualcode.codings_table import import_codings

    paths = api.bundled_study()
    path = tmp_path_factory.mktemp("offline-small") / "small.qualcode"
    with api.init(path, codebook=paths["codebook"]) as project:
        api.ingest(project, [paths["transcripts"] / f"{d}.txt" for d in SMALL])
        table = pd.read_csv(paths["codings"], dtype=str, keep_default_na=False)
        import_codings(project, table[table["document"].isin(SMALL)])
    return path


def test_ingest_and_reference_codings(study: Path) -> None:
    with Project.open(study) as project:
        assert len(project.documents) == 23
        assert len(project.codings(coder="reference")) > 500


@pytest.mark.slow  # loads spaCy's lemmatiser
def test_rules_coder(study: Path) -> None:
    from qualcode.coding import code_project

    run = code_project(study, "rules")
    assert run.stored > 0


@pytest.mark.slow
def test_open_coding_candidates(small: Path) -> None:
    from qualcode.opencoding import candidates

    found = candidates(small, min_size=5, seed=0, save=False)
    assert len(found.to_frame()) > 0


@pytest.mark.slow
def test_semantic_coder(small: Path) -> None:
    from qualcode.coding import code_project

    run = code_project(small, "semantic")
    assert run.stored > 0


@pytest.mark.slow
def test_supervised_coder(small: Path) -> None:
    from qualcode.coding import code_project

    run = code_project(small, "supervised", learn_from="reference", min_examples=3, cv=2)
    assert run.stored > 0


@pytest.mark.slow  # the rules coder loads spaCy's lemmatiser
def test_agreement(study: Path) -> None:
    from qualcode.analysis.agreement import agreement
    from qualcode.coding import code_project

    code_project(study, "rules")  # already there from the rules stage, or stored now
    with Project.open(study) as project:
        result = agreement(project, ["reference", "rules"])
        assert result is not None


def test_saturation_and_its_report(study: Path, tmp_path: Path) -> None:
    from qualcode.analysis.saturation import saturation

    result = saturation(study, permutations=50)
    assert result.n_interviews == 23
    written = result.write_report(tmp_path / "saturation")
    assert written


def test_exports(study: Path, tmp_path: Path) -> None:
    from qualcode.codings_table import export_codings
    from qualcode.export.excerpts import export_excerpts
    from qualcode.export.refiqda import export_qdc, export_qdpx, read_qdpx
    from qualcode.export.tables import export_tables

    for suffix in (".md", ".html", ".tex", ".docx", ".csv", ".xlsx"):
        assert export_excerpts(study, tmp_path / f"excerpts{suffix}").is_file()
    assert export_tables(study, tmp_path / "tables")
    export_qdpx(study, tmp_path / "study.qdpx")
    assert len(read_qdpx(tmp_path / "study.qdpx").documents) == 23
    assert export_qdc(study, tmp_path / "codebook.qdc").is_file()
    with Project.open(study) as project:
        assert Path(export_codings(project, tmp_path / "codings.csv")).is_file()


@pytest.mark.slow
def test_pseudonymisation_with_the_entity_recogniser(small: Path, tmp_path: Path) -> None:
    from qualcode.privacy import anonymise

    result = anonymise(small, apply=True, out=tmp_path / "anon.qualcode",
                       key=tmp_path / "key.csv")
    assert result.applied and len(result.proposal.replacements) > 20


# -- no networking code in qualcode --------------------------------------------------------
FORBIDDEN = ("socket", "ssl", "requests", "httpx", "urllib3", "aiohttp", "websocket",
             "websockets", "http.client", "http.server", "urllib.request", "smtplib",
             "ftplib", "telnetlib", "xmlrpc", "socketserver", "asyncio.streams", "paramiko",
             "grpc", "sentry_sdk", "posthog", "segment", "mixpanel")


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # "from urllib import request"
                yield node.lineno, f"{node.module}.{alias.name}"
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                  "import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def test_no_module_imports_a_networking_library() -> None:
    offenders = []
    sources = sorted((ROOT / "qualcode").rglob("*.py"))
    assert len(sources) > 20
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if any(module == bad or module.startswith(bad + ".") for bad in FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == []


def test_the_static_check_sees_imports_but_not_comments() -> None:
    tree = ast.parse("import os\n# import requests\nfrom urllib import request\n"
                     "x = 'import socket'\nimportlib.import_module('httpx')\n")
    found = {module for _, module in imported_modules(tree)}
    assert {"urllib.request", "httpx"} <= found and "requests" not in found
    assert "socket" not in found
