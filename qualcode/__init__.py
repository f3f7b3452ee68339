"""qualcode: an offline toolkit for qualitative research.

Ingest transcripts, code them (open coding that suggests codes, selective coding against a
codebook), check agreement, judge thematic saturation, and export coded excerpts, tables,
figures and REFI-QDA projects. Nothing leaves the machine.

>>> import qualcode as qc
>>> project = qc.init("study.qualcode", codebook="codebook.yaml")   # doctest: +SKIP
>>> qc.ingest(project, "transcripts/", cases="cases.csv")           # doctest: +SKIP

Names load lazily, so ``import qualcode`` stays fast: pandas, scikit-learn, spaCy and
sentence-transformers are imported only by the functions that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Code": "qualcode.model",
    "Codebook": "qualcode.model",
    "Coding": "qualcode.model",
    "Corpus": "qualcode.model",
    "Document": "qualcode.model",
    "ExcerptSet": "qualcode.export.excerpts",
    "Memo": "qualcode.model",
    "Project": "qualcode.project",
    "Pseudonymiser": "qualcode.privacy",
    "SaturationResult": "qualcode.analysis.saturation",
    "SearchResult": "qualcode.text_search",
    "QualcodeError": "qualcode.errors",
    "ReviewSession": "qualcode.review",
    "Segment": "qualcode.model",
    "agreement": "qualcode.analysis.agreement",
    "anonymise": "qualcode.privacy",
    "bundled_study": "qualcode.api",
    "candidates": "qualcode.opencoding",
    "case_matrix": "qualcode.export.tables",
    "code_project": "qualcode.coding",
    "cooccurrence": "qualcode.export.tables",
    "diff": "qualcode.api",
    "diff_codebooks": "qualcode.codebook",
    "evaluate": "qualcode.analysis.evaluation",
    "excerpts": "qualcode.export.excerpts",
    "export_codings": "qualcode.codings_table",
    "export_excerpts": "qualcode.export.excerpts",
    "export_qdc": "qualcode.export.refiqda",
    "export_qdpx": "qualcode.export.refiqda",
    "export_tables": "qualcode.export.tables",
    "frequencies": "qualcode.export.tables",
    "import_codings": "qualcode.codings_table",
    "import_qdc": "qualcode.export.refiqda",
    "import_qdpx": "qualcode.export.refiqda",
    "info": "qualcode.api",
    "ingest": "qualcode.api",
    "init": "qualcode.api",
    "load_codebook": "qualcode.codebook",
    "load_corpus": "qualcode.ingest",
    "load_name_list": "qualcode.privacy",
    "open_project": "qualcode.api",
    "read_codings_table": "qualcode.codings_table",
    "read_qdc": "qualcode.export.refiqda",
    "read_qdpx": "qualcode.export.refiqda",
    "saturation": "qualcode.analysis.saturation",
    "search": "qualcode.text_search",
    "write_qdpx": "qualcode.export.refiqda",
    "review_widget": "qualcode.widgets",
    "save_codebook": "qualcode.codebook",
    "show": "qualcode.display",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qualcode' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
