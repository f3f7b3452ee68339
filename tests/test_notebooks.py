"""The notebooks run from a clean kernel, and what they produce is checked.

Each notebook runs in ``notebooks/`` (so its relative paths work as they do for a user),
with its ``parameters`` cell followed by an injected cell that sends its output into a
temporary folder. The kernel is this interpreter (a kernel spec written to a temporary
``JUPYTER_PATH``), so the notebooks see the qualcode under test.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # the notebook extra; CI installs it
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHARED = ROOT.parent / "shared" / "data" / "swj2022-usability"
KERNEL = "qualcode-test"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel spec for this interpreter, found through ``JUPYTER_PATH``."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "qualcode tests", "language": "python",
    }), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        patch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugger notice
        yield KERNEL


def run(name: str, out: Path, kernel: str, timeout: int = 600):
    """Execute notebook ``name`` with ``OUT`` set to ``out``; returns it and the seconds."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    at = next(i for i, cell in enumerate(notebook.cells)
              if "parameters" in cell.metadata.get("tags", []))
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(f"OUT = Path({str(out)!r})"))
    client = nbclient.NotebookClient(notebook, kernel_name=kernel, timeout=timeout,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    started = time.perf_counter()
    client.execute()
    return notebook, time.perf_counter() - started


def outputs(notebook, mime: str) -> list[str]:
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if mime in data:
                value = data[mime]
                found.append(value if isinstance(value, str) else json.dumps(value))
    return found


def stderr(notebook) -> str:
    return "".join(o.get("text", "") for cell in notebook.cells
                   for o in cell.get("outputs", []) if o.get("name") == "stderr")


def test_notebooks_are_stored_clean():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in notebook.cells if c.cell_type == "code"), path.name


@pytest.mark.slow  # the rules coder loads spaCy's English model
def test_quickstart(kernel, tmp_path):
    out = tmp_path / "quickstart"
    notebook, seconds = run("01-quickstart.ipynb", out, kernel)
    numbers = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    with (ROOT / "corpora" / "ap-home-visits" / "codings.csv").open(encoding="utf-8") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    assert numbers["documents"] == 23
    assert 500 < numbers["segments"] < 2000
    assert numbers["reference_codings"] == rows
    assert numbers["rules_suggestions"] > 100
    assert numbers["reviewed"] == 3
    assert 0.2 < numbers["theme_kappa"] <= 1
    assert re.fullmatch(r"\d+\+\d+", numbers["guest2020"])
    assert 10 < numbers["chao2"] < 200
    codings = numbers["codings"]
    assert codings["accepted"] >= rows + 2 + 1  # reference, two reviewed, one by hand
    assert codings["rejected"] >= 1
    files = set(numbers["files"])
    assert {"ap-home-visits.qualcode", "excerpts.docx"} <= files
    assert any(f.startswith("tables/") and f.endswith(".csv") for f in files)
    assert any(f.startswith("tables/") and f.endswith(".png") for f in files)
    assert any(f.startswith("saturation/") and f.endswith(".png") for f in files)
    assert (out / "excerpts.docx").stat().st_size > 5_000
    # the displays: a coded transcript, the codebook tree, the widget, the figure
    html = "\n".join(outputs(notebook, "text/html"))
    assert 'class="qc qc-doc" data-document="AP01_sarah"' in html
    assert 'class="qc qc-codebook"' in html and 'class="qc qc-review-item"' in html
    assert outputs(notebook, "application/vnd.jupyter.widget-view+json")
    assert outputs(notebook, "image/png")
    assert "Traceback" not in stderr(notebook)
    print(f"01-quickstart.ipynb ran in {seconds:.0f} s")


@pytest.mark.slow  # the rules coder loads spaCy's English model
def test_shared_study(kernel, tmp_path):
    if not SHARED.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    out = tmp_path / "shared"
    notebook, seconds = run("02-shared-study-evaluation.ipynb", out, kernel)
    numbers = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert numbers["documents"] == 17
    assert numbers["authors_rows"] == numbers["authors_located"] == 1930
    assert len(numbers["train"]) == 8 and len(numbers["test"]) == 9
    assert numbers["codes_with_keywords"] >= 20
    assert numbers["scored_codes"] == 22
    assert -1 <= numbers["rules_macro_kappa"] <= 1
    # the supervised coder beats the README's line-embedding baseline (macro kappa 0.35)
    assert 0.35 < numbers["supervised_macro_kappa"] <= 1
    assert 0 < numbers["supervised_micro_f1"] <= 1
    assert numbers["guest2020"] is None or re.fullmatch(r"\d+\+\d+", numbers["guest2020"])
    files = set(numbers["files"])
    assert {"swj2022.qualcode", "coders-vs-authors.csv"} <= files
    assert any(f.startswith("saturation/") for f in files)
    with (out / "coders-vs-authors.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 22 and {"kappa rules", "kappa supervised"} <= set(rows[0])
    html = "\n".join(outputs(notebook, "text/html"))
    assert 'data-document="P9_GMT20211129"' in html
    assert "Traceback" not in stderr(notebook)
    print(f"02-shared-study-evaluation.ipynb ran in {seconds:.0f} s")
