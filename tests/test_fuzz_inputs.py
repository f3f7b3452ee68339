"""Every bad input gets a clear error (issue 8, part 1).

Each reader (through ``read_documents`` and ``load_corpus``), the cases table, the codings
table, REFI-QDA projects and the codebook loader are fed random bytes, truncated and
corrupted files, wrong encodings, enormous lines, empty files, deeply nested YAML and odd
speaker labels. The contract: the call returns, or raises a
:class:`~qualcode.errors.QualcodeError` whose message names the file. Anything else
(``UnicodeDecodeError``, ``KeyError``, ``RecursionError``...) fails the test, and hypothesis
shrinks it to a minimal input. The command line turns them into exit codes without a
traceback, and ``--debug`` shows one.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sample_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qualcode.codebook import load_codebook, validate_codebook
from qualcode.errors import EXIT_CODES, QualcodeError
from qualcode.ingest import load_corpus, read_cases, read_documents, supported_suffixes

FUZZ = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

SAMPLES: dict[str, Callable[[], bytes]] = {
    ".txt": sample_files.txt, ".text": sample_files.txt, ".md": sample_files.md,
    ".markdown": sample_files.md, ".vtt": sample_files.vtt, ".srt": sample_files.srt,
    ".csv": sample_files.csv_table, ".tsv": sample_files.tsv_table,
    ".xlsx": sample_files.xlsx_table, ".docx": sample_files.docx, ".odt": sample_files.odt,
}
TEXT_SUFFIXES = (".txt", ".md", ".vtt", ".srt", ".csv", ".tsv")
CODEBOOK_SAMPLES: dict[str, Callable[[], bytes]] = {
    ".yaml": sample_files.codebook_yaml, ".csv": sample_files.codebook_csv,
    ".xlsx": sample_files.codebook_xlsx,
}


def test_every_registered_reader_is_fuzzed() -> None:
    assert set(supported_suffixes()) == set(SAMPLES)


def our_error_or_result(call: Callable[[], Any], path: Path) -> Any:
    """Run ``call``; a QualcodeError must name the file, any other exception escapes."""
    try:
        return call()
    except QualcodeError as exc:
        assert path.name in str(exc), f"{type(exc).__name__} does not name the file: {exc}"
        assert str(exc).strip() and "Traceback" not in str(exc)
        return exc


def read_all_ways(path: Path) -> None:
    """The file through read_documents (with and without table options) and load_corpus."""
    our_error_or_result(lambda: read_documents(path), path)
    if path.suffix in (".csv", ".tsv", ".xlsx"):
        our_error_or_result(lambda: read_documents(path, text_column="answer"), path)
        our_error_or_result(lambda: read_cases(path), path)
    our_error_or_result(lambda: load_corpus([path], text_column="answer"), path)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@functools.cache
def sample(suffix: str) -> bytes:
    # A function, not a fixture: hypothesis prints a failing example's arguments, and a
    # dict of whole files would drown the one that matters.
    return SAMPLES[suffix]()


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
def test_the_samples_themselves_read(workdir: Path, suffix: str) -> None:
    path = workdir / f"sample{suffix}"
    path.write_bytes(sample(suffix))
    sources = read_documents(path, text_column="answer")
    assert sources and all(s.text.strip() for s in sources)


# -- readers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", sorted(SAMPLES))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(workdir: Path, suffix: str, data: bytes) -> None:
    path = workdir / f"random{suffix}"
    path.write_bytes(data)
    read_all_ways(path)


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
@FUZZ
@given(fraction=st.floats(0, 1))
def test_truncated_files(workdir: Path, suffix: str,
                         fraction: float) -> None:
    data = sample(suffix)
    path = workdir / f"truncated{suffix}"
    path.write_bytes(data[: int(len(data) * fraction)])
    read_all_ways(path)


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
@FUZZ
@given(where=st.floats(0, 1, exclude_max=True), byte=st.integers(0, 255),
       length=st.integers(1, 16))
def test_corrupted_bytes(workdir: Path, suffix: str, where: float,
                         byte: int, length: int) -> None:
    data = bytearray(sample(suffix))
    at = int(len(data) * where)
    data[at:at + length] = bytes([byte]) * length
    path = workdir / f"corrupt{suffix}"
    path.write_bytes(bytes(data))
    read_all_ways(path)


ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252", "latin-1", "shift_jis",
             "koi8-r", "cp437", "mac_roman", "utf-8-sig")


@pytest.mark.parametrize("suffix", TEXT_SUFFIXES)
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_wrong_encodings(workdir: Path, suffix: str,
                         encoding: str) -> None:
    text = sample(suffix).decode("utf-8").replace("kettle", "kettle café – “tea” £2")
    path = workdir / f"enc-{encoding}{suffix}"
    path.write_bytes(text.encode(encoding, errors="replace"))
    read_all_ways(path)


@pytest.mark.parametrize("suffix", TEXT_SUFFIXES)
@FUZZ
@given(text=st.text(max_size=300), encoding=st.sampled_from(ENCODINGS))
def test_any_text_in_any_encoding(workdir: Path, suffix: str, text: str,
                                  encoding: str) -> None:
    path = workdir / f"anytext{suffix}"
    path.write_bytes(text.encode(encoding, errors="replace"))
    read_all_ways(path)


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
def test_empty_files(workdir: Path, suffix: str) -> None:
    path = workdir / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(QualcodeError) as info:
        read_documents(path, text_column="answer")
    assert path.name in str(info.value)
    path.write_bytes(b" \n\t\r\n  ")
    read_all_ways(path)


@pytest.mark.parametrize("suffix", TEXT_SUFFIXES)
def test_an_enormous_line(workdir: Path, suffix: str) -> None:
    path = workdir / f"huge{suffix}"
    path.write_bytes(sample(suffix) + b"Sarah: " + b"word " * 400_000 + b"\n")
    read_all_ways(path)
    path.write_bytes(b"x" * 2_000_000)
    read_all_ways(path)


LABEL_PIECES = st.sampled_from([
    "INTERVIEWER", "Interviewer", "Sarah", "Sarah, Ash Grove", "P4", "Q", "A", "**Sarah**",
    "[00:03:12] Dave", "00:03:12 Dave", "(03:12)", "[00:00:00]", "Moderator (Anna)",
    "Speaker 2", "Dr. Smith", "The point is", "Note", "Émile", "张伟", "O'Neil", "Anne-Marie",
    "Location", "[inaudible]", "(laughs)", "**", "__", "", " ", "-", "—", "#", "1.a", "c.ii",
    "Sarah [00:01]", "🙂", "\t", "Ms", "X" * 70,
])


@st.composite
def transcripts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            lines.append("")
        elif kind == 1:
            lines.append(draw(st.text(max_size=40)))
        else:
            label = "".join(draw(st.lists(LABEL_PIECES, min_size=1, max_size=3)))
            colon = draw(st.sampled_from([":", ": ", ":\t", "：", "::", ":**", " :"]))
            lines.append(label + colon + draw(st.text(max_size=30)))
    return draw(st.sampled_from(["\n", "\r\n", "\r", "\n\n"])).join(lines)


@pytest.mark.parametrize("suffix", [".txt", ".md"])
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=transcripts())
def test_odd_speaker_labels(workdir: Path, suffix: str, text: str) -> None:
    path = workdir / f"labels{suffix}"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    try:
        loaded = load_corpus([path])
    except QualcodeError as exc:
        assert path.name in str(exc), exc
        return
    # whatever the labels, segments are views on the text with checked offsets
    for document in loaded.corpus.documents:
        for segment in loaded.corpus.segments_of(document.id):
            assert segment.text == document.text[segment.start:segment.end]
            assert segment.text == segment.text.strip() and segment.text


DAMAGES = {
    "bad local header": sample_files.with_bad_local_header,
    "unsupported zip version": sample_files.with_unsupported_zip_version,
}
MAIN_MEMBER = {".docx": "word/document.xml", ".odt": "content.xml",
               ".xlsx": "xl/worksheets/sheet1.xml", ".qdpx": "project.qde"}


@pytest.mark.parametrize("suffix", sorted(MAIN_MEMBER))
@pytest.mark.parametrize("damage", [*DAMAGES, "corrupt member"])
def test_damaged_archives(workdir: Path, suffix: str, damage: str) -> None:
    """The minimal inputs the fuzzing found, kept as plain regression tests: an archive whose
    central directory is sound but whose members are not."""
    from qualcode.export.refiqda import read_qdpx

    data = qdpx_sample() if suffix == ".qdpx" else sample(suffix)
    if damage == "corrupt member":
        data = sample_files.with_corrupt_member(data, MAIN_MEMBER[suffix])
    else:
        data = DAMAGES[damage](data)
    path = workdir / f"damaged{suffix}"
    path.write_bytes(data)
    read = read_qdpx if suffix == ".qdpx" else (lambda p: read_documents(p, text_column="answer"))
    result = our_error_or_result(lambda: read(path), path)
    if damage != "bad local header":  # a reader may never open the first member
        assert isinstance(result, QualcodeError)


@pytest.mark.parametrize("damage", [*DAMAGES, "corrupt member"])
def test_damaged_codebook_workbook(workdir: Path, damage: str) -> None:
    data = sample_files.codebook_xlsx()
    if damage == "corrupt member":
        data = sample_files.with_corrupt_member(data, "xl/worksheets/sheet1.xml")
    else:
        data = DAMAGES[damage](data)
    path = workdir / "damaged-codebook.xlsx"
    path.write_bytes(data)
    result = our_error_or_result(lambda: load_codebook(path), path)
    if damage != "bad local header":  # the reader may never open the first member
        assert isinstance(result, QualcodeError)


# -- REFI-QDA projects and codings tables ------------------------------------------------------
@functools.cache
def qdpx_sample() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return sample_files.qdpx(Path(folder))


@FUZZ
@given(fraction=st.floats(0, 1), data=st.binary(max_size=256))
def test_qdpx_truncated_or_random(workdir: Path, fraction: float, data: bytes) -> None:
    from qualcode.export.refiqda import read_qdpx

    sample = qdpx_sample()
    path = workdir / "fuzz.qdpx"
    for payload in (sample[: int(len(sample) * fraction)], data):
        path.write_bytes(payload)
        our_error_or_result(lambda: read_qdpx(path), path)


@FUZZ
@given(text=st.text(max_size=400))
def test_codings_table_with_any_text(workdir: Path, text: str) -> None:
    from builders import make_corpus

    from qualcode.codings_table import read_codings_table
    from qualcode.model import Code, Codebook

    path = workdir / "codings.csv"
    path.write_text("document,code,text\n" + text, encoding="utf-8", errors="surrogatepass")
    corpus = make_corpus({"d1": "Anna: Mum put the kettle on."})
    book = Codebook("b", (Code("tea"),))
    our_error_or_result(lambda: read_codings_table(path, corpus.documents, book), path)


# -- the codebook loader -----------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".csv", ".xlsx", ".qdc"])
@FUZZ
@given(data=st.binary(max_size=2048))
def test_codebook_random_bytes(workdir: Path, suffix: str, data: bytes) -> None:
    path = workdir / f"random-codebook{suffix}"
    path.write_bytes(data)
    our_error_or_result(lambda: load_codebook(path), path)
    assert isinstance(validate_codebook(path), list)


@pytest.mark.parametrize("suffix", sorted(CODEBOOK_SAMPLES))
@FUZZ
@given(fraction=st.floats(0, 1), where=st.floats(0, 1, exclude_max=True),
       byte=st.integers(0, 255))
def test_codebook_truncated_or_corrupted(workdir: Path, suffix: str, fraction: float,
                                         where: float, byte: int) -> None:
    data = bytearray(CODEBOOK_SAMPLES[suffix]())
    data[int(len(data) * where)] = byte
    path = workdir / f"cut-codebook{suffix}"
    path.write_bytes(bytes(data[: max(1, int(len(data) * fraction))]))
    our_error_or_result(lambda: load_codebook(path), path)


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["name", "id", "codes", "themes", "definition",
                                       "examples", "keywords", "patterns", "color", "x"]),
                      children, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(value=YAML_VALUES)
def test_codebook_any_yaml_structure(workdir: Path, value: Any) -> None:
    import yaml

    path = workdir / "structure.yaml"
    path.write_text(yaml.safe_dump(value, allow_unicode=True), encoding="utf-8")
    result = our_error_or_result(lambda: load_codebook(path), path)
    if not isinstance(result, QualcodeError):
        assert all(code.id for code in result.codes)


def _nested_codes(depth: int) -> str:
    lines = ["name: deep", "themes:"]
    for level in range(depth):
        pad = "  " * (2 * level + 1)
        lines += [f"{pad}- id: c{level}", f"{pad}  definition: level {level}",
                  f"{pad}  codes:"]
    lines.append("  " * (2 * depth + 1) + "- id: leaf")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        # big enough to pass Python's recursion limit, small enough to stay fast
        ("flow lists", "[" * 600 + "]" * 600),
        ("flow maps", "{a: " * 600 + "1" + "}" * 600),
        ("block lists", "".join("  " * i + "-\n" for i in range(1_200))),
        ("codes nested 200 deep", _nested_codes(200)),
        ("anchors", "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
                    "c: &c [*b, *b, *b, *b, *b, *b]\nname: *c\n"),
        ("a merge key", "base: &b {id: x}\nthemes:\n  - <<: *b\n"),
        ("tags", "name: !!python/object/apply:os.system [echo hi]\n"),
        ("a huge scalar", "name: " + "x" * 300_000 + "\n"),
        ("many codes", "name: many\nthemes:\n" + "".join(
            f"  - id: c{i}\n    definition: d\n" for i in range(2_000))),
    ],
)
def test_codebook_deep_or_hostile_yaml(workdir: Path, name: str, text: str) -> None:
    path = workdir / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    result = our_error_or_result(lambda: load_codebook(path), path)
    if name in ("flow lists", "flow maps", "block lists", "codes nested 200 deep", "anchors",
                "a merge key", "tags"):
        assert isinstance(result, QualcodeError), name


# -- the command line --------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "qualcode", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_exit_codes_without_and_with_debug(tmp_path: Path) -> None:
    project = tmp_path / "p.qualcode"
    assert run_cli("init", str(project)).returncode == 0
    bad = tmp_path / "broken.docx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    done = run_cli("ingest", str(project), str(bad))
    assert done.returncode == 3 and done.returncode in EXIT_CODES
    assert "broken.docx" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("--debug", "ingest", str(project), str(bad))
    assert done.returncode != 0 and "Traceback" in done.stderr and "ReaderError" in done.stderr
    bad_book = tmp_path / "book.yaml"
    bad_book.write_text("name: [unclosed\n", encoding="utf-8")
    done = run_cli("codebook", "validate", str(bad_book))
    assert done.returncode == 3 and "book.yaml" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    done = run_cli("info", str(tmp_path / "missing.qualcode"))
    assert done.returncode == 5 and "Traceback" not in done.stderr


def test_cli_internal_errors_exit_70_and_debug_shows_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from qualcode import api
    from qualcode.cli import main

    def broken(project: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "info", broken)
    with pytest.raises(SystemExit) as info:
        main(["info", str(tmp_path / "p.qualcode")])
    err = capsys.readouterr().err
    assert info.value.code == 70 and "RuntimeError: boom" in err and "Traceback" not in err
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "info", str(tmp_path / "p.qualcode")])
