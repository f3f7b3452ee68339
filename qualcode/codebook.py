"""Codebook files: load, validate, save and compare.

Formats
-------
YAML (the native format; see ``codebooks/ap-home-visits.yaml``)::

    name: AP home visits
    version: 1
    description: ...
    themes:                      # or `codes:`; themes are top-level codes
      - id: triggers
        name: Triggers
        definition: ...
        codes:                   # nest as deep as you like
          - id: attendance
            name: Poor or no attendance
            definition: ...
            include: ...         # inclusion criteria
            exclude: ...         # exclusion criteria
            examples: [...]      # typical quotes
            keywords: [...]      # words and phrases the rules coder matches (on lemmas)
            patterns: [...]      # Python regular expressions
            color: "#1b9e77"

An ``id`` may be left out when a ``name`` is given: it is derived from the name
(``Poor attendance`` -> ``poor_attendance``).

CSV (and XLSX): one row per code. A name column (``name``, ``code``, ``tag`` or ``label``),
optionally ``id``, ``definition`` (or ``description``), ``theme`` or ``parent``,
``include``, ``exclude``, ``examples`` and ``keywords`` (separated by ``|`` or ``;``) and
``color``. Other columns (e.g. Taguette's ``number of highlights``) are ignored.

REFI-QDA codebooks (``.qdc``) are read by :mod:`qualcode.export.refiqda` through the same
:func:`load_codebook`.

Every problem names the file, the line and the field.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from os import PathLike
from pathlib import Path
from typing import Any

from qualcode.errors import CodebookError
from qualcode.model import Code, Codebook, code_problems

__all__ = [
    "CodebookDiff",
    "Problem",
    "codebook_loaders",
    "diff_codebooks",
    "load_codebook",
    "save_codebook",
    "slugify",
    "validate_codebook",
]

TOP_KEYS = ("name", "version", "description", "themes", "codes")
CODE_KEYS = (
    "id", "name", "color", "definition", "include", "exclude", "examples", "keywords",
    "patterns", "codes",
)
_TEXT_FIELDS = ("name", "definition", "include", "exclude")
_LIST_FIELDS = ("examples", "keywords", "patterns")
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_MAX_NODES = 200_000  # a codebook is never this large; anything bigger is refused as hostile
_MAX_DEPTH = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong (``error``) or worth fixing (``warning``) in a codebook file."""

    severity: str
    message: str
    path: str | None = None
    line: int | None = None
    field: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        where = ", ".join(
            x for x in (self.path, self.line and f"line {self.line}",
                        self.field and f"field '{self.field}'") if x
        )
        return f"{where}: {self.message}" if where else self.message


def slugify(name: str) -> str:
    """An id from a name: ``"Poor or no attendance"`` -> ``"poor_or_no_attendance"``."""
    decomposed = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))  # é -> e
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return text or "code"


# -- loading ----------------------------------------------------------------------------
def load_codebook(path: str | PathLike[str]) -> Codebook:
    """Read a codebook from YAML, CSV, XLSX or REFI-QDA ``.qdc``.

    Raises :class:`~qualcode.errors.CodebookError` naming the file, line and field of the
    first error. Warnings (such as empty definitions) do not stop loading; see
    :func:`validate_codebook`.
    """
    path = Path(path)
    if not path.is_file():
        raise CodebookError(
            "No such codebook file. Check the path; codebooks are .yaml, .csv, .xlsx or .qdc.",
            path=path,
        )
    loader = codebook_loaders().get(path.suffix.lower())
    if loader is None:
        raise CodebookError(
            f"Unknown codebook format '{path.suffix}'. Use .yaml/.yml, .csv, .xlsx or .qdc.",
            path=path,
        )
    codebook, problems = loader(path)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        first = errors[0]
        others = len(errors) - 1
        more = (f" ({others} more problem{'' if others == 1 else 's'}: run `qualcode codebook "
                "validate`)") if others else ""
        raise CodebookError(first.message + more, path=first.path, line=first.line,
                            field=first.field)
    assert codebook is not None
    return codebook


def validate_codebook(path: str | PathLike[str]) -> list[Problem]:
    """Every problem in a codebook file, errors and warnings, without raising."""
    path = Path(path)
    try:
        loader = codebook_loaders()[path.suffix.lower()]
    except KeyError:
        return [Problem("error", f"Unknown codebook format '{path.suffix}'.", str(path))]
    if not path.is_file():
        return [Problem("error", "No such codebook file.", str(path))]
    try:
        _, problems = loader(path)
    except CodebookError as exc:
        return [Problem("error", exc.message, exc.path, exc.line, exc.field)]
    return problems


def codebook_loaders() -> dict[str, Callable[[Path], tuple[Codebook | None, list[Problem]]]]:
    """Suffix -> loader. One registry, so every place that accepts a codebook reads the same."""
    loaders: dict[str, Callable[[Path], tuple[Codebook | None, list[Problem]]]] = {
        ".yaml": _load_yaml, ".yml": _load_yaml, ".csv": _load_table, ".xlsx": _load_table,
    }
    try:
        from qualcode.export.refiqda import load_qdc
    except ImportError:  # the exchange module is optional at this layer
        pass
    else:
        loaders[".qdc"] = load_qdc
    return loaders


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CodebookError("This is a binary file, not a codebook.", path=path)
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-16" or data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return text.replace("\r\n", "\n").replace("\r", "\n")
    raise CodebookError("Cannot decode the file; save it as UTF-8.", path=path)


class _YamlReader:
    """Turns a composed YAML node tree into codes, remembering each node's line."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.problems: list[Problem] = []
        self.codes: list[Code] = []
        self.lines: dict[str, int] = {}
        self.nodes = 0

    def problem(self, severity: str, message: str, node: Any = None, field_: str | None = None,
                code: str | None = None) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(severity, message, self.path, line, field_, code))

    def scalar(self, node: Any, field_: str) -> str | None:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:null":
                return ""
            return str(node.value).strip()
        self.problem("error", f"'{field_}' must be text, not a {_kind(node)}.", node, field_)
        return None

    def string_list(self, node: Any, field_: str) -> tuple[str, ...]:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node, field_)
            if field_ == "keywords" and value and "," in value:
                # `keywords: absent, late` reads as one keyword that never matches
                self.problem("error", f"'keywords' is one text ({value!r}), not a list; put "
                             "it in square brackets so that each comma separates a keyword.",
                             node, field_)
                return ()
            return (value,) if value else ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem("error", f"'{field_}' must be a list of text.", node, field_)
            return ()
        out = []
        for item in node.value:
            self.nodes += 1
            if not isinstance(item, yaml.ScalarNode):
                self.problem("error", f"Each item of '{field_}' must be text, not a "
                             f"{_kind(item)}.", item, field_)
                continue
            if str(item.value).strip():
                out.append(str(item.value).strip())
        return tuple(out)

    def code_list(self, node: Any, parent: str | None, depth: int) -> None:
        import yaml

        if depth > _MAX_DEPTH:
            self.problem("error", f"Codes are nested more than {_MAX_DEPTH} deep.", node)
            return
        if not isinstance(node, yaml.SequenceNode):
            self.problem("error", "'codes' must be a list of codes (each starting with '- ').",
                         node, "codes")
            return
        for item in node.value:
            self.nodes += 1
            if self.nodes > _MAX_NODES:
                raise CodebookError("The codebook is too large (more than "
                                    f"{_MAX_NODES} entries); refused.", path=self.path)
            self.code(item, parent, depth)

    def code(self, node: Any, parent: str | None, depth: int) -> None:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.problem("error", f"Each code must be a mapping of fields (id, name, "
                         f"definition, ...), not a {_kind(node)}.", node)
            return
        values: dict[str, Any] = {}
        children = None
        for key_node, value_node in node.value:
            self.nodes += 1
            key = str(key_node.value)
            if key not in CODE_KEYS:
                close = difflib.get_close_matches(key, CODE_KEYS, n=1)
                hint = f" Did you mean '{close[0]}'?" if close else (
                    f" Allowed: {', '.join(CODE_KEYS)}.")
                self.problem("error", f"Unknown field '{key}'.{hint}", key_node, key)
                continue
            if key in values or (key == "codes" and children is not None):
                self.problem("error", f"Field '{key}' is given twice.", key_node, key)
                continue
            if key == "codes":
                children = value_node
            elif key in _LIST_FIELDS:
                values[key] = (self.string_list(value_node, key), value_node)
            else:
                values[key] = (self.scalar(value_node, key), value_node)
        name = (values.get("name") or ("", None))[0] or ""
        code_id = (values.get("id") or ("", None))[0] or ""
        if not code_id:
            if not name:
                self.problem("error", "A code needs an 'id' or a 'name'.", node, "id")
                return
            code_id = slugify(name)
        if code_id in self.lines:
            self.problem("error", f"Code id '{code_id}' is used twice (first at line "
                         f"{self.lines[code_id]}); ids must be unique.",
                         values.get("id", (None, node))[1] or node, "id", code_id)
            return
        color = (values.get("color") or ("", None))[0] or None
        if color and not _COLOR.match(color):
            self.problem("error", f"'color' must be a hex colour like '#1b9e77'. Got "
                         f"{color!r}.", values["color"][1], "color", code_id)
            color = None
        patterns = (values.get("patterns") or ((), None))[0]
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                self.problem("error", f"Pattern {pattern!r} of code '{code_id}' is not a valid "
                             f"regular expression: {exc}.", values["patterns"][1], "patterns",
                             code_id)
        try:
            code = Code(
                id=code_id, name=name, parent=parent,
                definition=(values.get("definition") or ("", None))[0] or "",
                include=(values.get("include") or ("", None))[0] or "",
                exclude=(values.get("exclude") or ("", None))[0] or "",
                examples=(values.get("examples") or ((), None))[0],
                keywords=(values.get("keywords") or ((), None))[0],
                patterns=patterns, color=color,
            )
        except ValueError as exc:
            self.problem("error", str(exc), values.get("id", (None, node))[1] or node, "id")
            return
        self.lines[code_id] = node.start_mark.line + 1
        self.codes.append(code)
        is_leaf = children is None or not getattr(children, "value", None)
        if not code.definition:
            self.problem("warning", f"Code '{code_id}' has an empty definition; a second coder "
                         "(or the semantic coder) needs one.", node, "definition", code_id)
        elif is_leaf and not code.examples:
            self.problem("warning", f"Code '{code_id}' has no examples.", node, "examples",
                         code_id)
        if children is not None:
            self.code_list(children, code_id, depth + 1)


def _kind(node: Any) -> str:
    import yaml

    return {yaml.ScalarNode: "single value", yaml.SequenceNode: "list",
            yaml.MappingNode: "mapping"}.get(type(node), "value")


# Nesting a codebook can need: themes > codes > sub-codes (a few levels) > fields > lists.
# PyYAML takes time growing with the square of the nesting to read a deeply nested file
# (a minute for 50,000 brackets), so deeper files are refused before it reads them.
MAX_YAML_DEPTH = 64


def _check_depth(text: str, path: Path) -> None:
    """Refuse YAML nested deeper than :data:`MAX_YAML_DEPTH`, by brackets (``[``, ``{``)
    or by indentation, naming the line. Approximate (brackets inside quotes count too),
    but no codebook comes near the limit."""
    indents: list[int] = []
    brackets = 0
    for number, line in enumerate(text.splitlines(), 1):
        content = line.lstrip(" ")
        if content and not content.startswith("#"):
            indent = len(line) - len(content)
            while indents and indents[-1] >= indent:
                indents.pop()
            indents.append(indent)
        deepest = brackets
        for ch in content:
            if ch in "[{":
                brackets += 1
                deepest = max(deepest, brackets)
            elif ch in "]}":
                brackets = max(brackets - 1, 0)
            elif ch == "#":
                break
        if max(len(indents), deepest) > MAX_YAML_DEPTH:
            raise CodebookError(
                f"The YAML is nested more than {MAX_YAML_DEPTH} levels deep here; a "
                "codebook needs a few (themes, codes, their fields). Check the brackets and "
                "indentation.", path=path, line=number)


def _load_yaml(path: Path) -> tuple[Codebook | None, list[Problem]]:
    import yaml

    text = _read_text(path)
    _check_depth(text, path)
    try:
        # Anchors/aliases let a tiny file expand enormously; codebooks never need them.
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                raise CodebookError("YAML anchors and aliases (&name, *name) are not allowed "
                                    "in codebooks; write the text out.", path=path,
                                    line=token.start_mark.line + 1)
    except yaml.YAMLError:
        pass  # compose() below reports it with its line
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        lines = text.split("\n")
        source_line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
        indent = len(source_line) - len(source_line.lstrip())
        if mark is not None and "\t" in source_line[: max(indent, mark.column + 1)]:
            raise CodebookError("This line holds a tab where YAML allows only spaces (in "
                                "indentation or after a ':'). Replace the tab with spaces.",
                                path=path, line=line) from None
        raise CodebookError(f"This is not valid YAML: {exc.problem}. Check indentation and "
                            "quoting near this line.", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"This is not valid YAML: {exc}.", path=path) from None
    except RecursionError:
        raise CodebookError("The YAML is nested too deeply.", path=path) from None
    reader = _YamlReader(path)
    if root is None:
        return None, [Problem("error", "The codebook file is empty.", str(path))]
    if not isinstance(root, yaml.MappingNode):
        return None, [Problem("error", "A codebook must be a mapping with 'name' and "
                              "'themes' (or 'codes') at the top.", str(path), 1)]
    top: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(key, TOP_KEYS, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else f" Allowed: {', '.join(TOP_KEYS)}."
            reader.problem("error", f"Unknown top-level field '{key}'.{hint}", key_node, key)
            continue
        top[key] = value_node
    if "themes" in top and "codes" in top:
        reader.problem("error", "Give either 'themes' or 'codes' at the top, not both.",
                       top["codes"], "codes")
    code_node = top.get("themes", top.get("codes"))
    if code_node is None:
        reader.problem("error", "The codebook has no 'themes' (or 'codes') list.", root, "themes")
    else:
        try:
            reader.code_list(code_node, None, 0)
        except RecursionError:
            raise CodebookError("The codebook is nested too deeply.", path=path) from None
    name = reader.scalar(top["name"], "name") if "name" in top else path.stem
    description = reader.scalar(top["description"], "description") if "description" in top else ""
    version = 1
    if "version" in top:
        raw = reader.scalar(top["version"], "version")
        if raw is not None and not raw.isdigit():
            reader.problem("error", f"'version' must be a whole number. Got {raw!r}.",
                           top["version"], "version")
        elif raw:
            version = int(raw)
    if any(p.severity == "error" for p in reader.problems):
        return None, reader.problems
    return Codebook(name or path.stem, tuple(reader.codes), version, description or ""), \
        reader.problems


_NAME_COLUMNS = ("name", "code", "tag", "label", "code name", "node", "title")
_ID_COLUMNS = ("id", "code id", "code_id")
_DEFINITION_COLUMNS = ("definition", "description", "meaning", "memo")
_PARENT_COLUMNS = ("theme", "parent", "category", "group")


def _load_table(path: Path) -> tuple[Codebook | None, list[Problem]]:
    from qualcode.errors import InputError
    from qualcode.ingest.tables import read_table

    try:
        # One table reader for the whole package: encodings, zip safety, line numbers.
        table = read_table(path)
    except InputError as exc:
        raise CodebookError(str(exc.args[0]).split(": ", 1)[-1], path=path, line=exc.line,
                            field=exc.field) from None
    columns = {name.strip().casefold(): name for name in table.header}

    def pick(options: tuple[str, ...]) -> str | None:
        return next((columns[o] for o in options if o in columns), None)

    name_col, id_col = pick(_NAME_COLUMNS), pick(_ID_COLUMNS)
    if name_col is None and id_col is None:
        return None, [Problem("error", "No name column: a CSV codebook needs a column called "
                              f"one of {', '.join(_NAME_COLUMNS)}.", str(path), 1)]
    def_col, parent_col = pick(_DEFINITION_COLUMNS), pick(_PARENT_COLUMNS)
    extra = {k: pick((k,)) for k in ("include", "exclude", "examples", "keywords", "color")}
    problems: list[Problem] = []
    codes: dict[str, Code] = {}
    rows: dict[str, int] = {}  # code id -> its row's line, to place problems found later
    themes: dict[str, Code] = {}
    records = [dict(zip(table.header, cells, strict=False)) for cells in table.rows]
    for row_number, row in zip(table.lines, records, strict=True):
        name = str(row.get(name_col, "") if name_col else "").strip()
        code_id = str(row.get(id_col, "") if id_col else "").strip() or (
            slugify(name) if name else "")
        if not code_id:
            continue  # a blank row
        parent_name = str(row.get(parent_col, "")).strip() if parent_col else ""
        parent = None
        if parent_name:
            parent = parent_name if parent_name in codes or parent_name in themes else slugify(
                parent_name)
            if parent not in codes and parent not in themes:
                themes[parent] = Code(parent, name=parent_name)
        if code_id in codes:
            problems.append(Problem("error", f"Code '{code_id}' appears twice.", str(path),
                                    row_number, id_col or name_col, code_id))
            continue

        def split(column: str | None, row: dict = row) -> tuple[str, ...]:
            raw = str(row.get(column, "")).strip() if column else ""
            return tuple(x.strip() for x in re.split(r"[|;]", raw) if x.strip())

        keywords = split(extra["keywords"])
        if any("," in keyword for keyword in keywords):
            problems.append(Problem("error", f"Keywords are separated by '|' or ';', not "
                                    f"commas: write {'|'.join(_comma_split(keywords))!r}.",
                                    str(path), row_number, extra["keywords"], code_id))
            keywords = ()
        color = str(row.get(extra["color"], "")).strip() if extra["color"] else ""
        if color and not _COLOR.match(color):
            problems.append(Problem("error", f"'color' must be a hex colour like '#1b9e77'. "
                                    f"Got {color!r}.", str(path), row_number, "color", code_id))
            color = ""
        try:
            code = Code(
                code_id, name=name, parent=parent,
                definition=str(row.get(def_col, "")).strip() if def_col else "",
                include=str(row.get(extra["include"], "")).strip() if extra["include"] else "",
                exclude=str(row.get(extra["exclude"], "")).strip() if extra["exclude"] else "",
                examples=split(extra["examples"]), keywords=keywords,
                color=color or None,
            )
        except ValueError as exc:
            problems.append(Problem("error", str(exc), str(path), row_number, "id", code_id))
            continue
        if not code.definition:
            problems.append(Problem("warning", f"Code '{code_id}' has an empty definition.",
                                    str(path), row_number, def_col or "definition", code_id))
        codes[code_id] = code
        rows[code_id] = row_number
        themes.pop(code_id, None)  # a theme listed as its own row
    all_codes = [*themes.values(), *codes.values()]
    if not all_codes:
        problems.append(Problem("error", "The table holds no codes.", str(path)))
    for code_id, field_name, message in code_problems(all_codes):  # e.g. parents in a cycle
        problems.append(Problem("error", message, str(path), rows.get(code_id),
                                parent_col if field_name == "parent" else field_name, code_id))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Codebook(path.stem, tuple(all_codes)), problems


def _comma_split(items: tuple[str, ...]) -> list[str]:
    return [x.strip() for item in items for x in item.split(",") if x.strip()]


# -- saving -------------------------------------------------------------------------------
def save_codebook(
    codebook: Codebook, path: str | PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a codebook as YAML (or CSV by suffix); :func:`load_codebook` reads it back equal."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise CodebookError("The file exists; pass overwrite=True (--force) to replace it.",
                            path=path)
    if path.suffix.lower() == ".csv":
        frame = codebook.to_frame()
        frame = frame.assign(
            examples=["|".join(c.examples) for c in codebook.codes],
            keywords=["|".join(c.keywords) for c in codebook.codes],
        ).drop(columns=["theme"])
        text = frame.to_csv(index=False)
    else:
        import yaml

        def node(code: Code) -> dict[str, Any]:
            out: dict[str, Any] = {"id": code.id}
            for f in fields(Code):
                value = getattr(code, f.name)
                if f.name in ("id", "parent") or not value:
                    continue
                out[f.name] = list(value) if isinstance(value, tuple) else value
            kids = codebook.children(code.id)
            if kids:
                out["codes"] = [node(k) for k in kids]
            return out

        data = {
            "name": codebook.name,
            "version": codebook.version,
            **({"description": codebook.description} if codebook.description else {}),
            "themes": [node(c) for c in codebook.themes],
        }
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=88)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # atomic: a reader never sees half a codebook
    return path


# -- diff ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CodebookDiff:
    """What changed from ``old`` to ``new``: codes added, removed, renamed, redefined, moved."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    renamed: tuple[tuple[str, str, str], ...] = ()  # (id, old name, new name)
    id_changed: tuple[tuple[str, str], ...] = ()  # (old id, new id): same code, new id
    redefined: tuple[str, ...] = ()
    moved: tuple[tuple[str, str | None, str | None], ...] = ()  # (id, old parent, new parent)
    other: tuple[tuple[str, str], ...] = field(default=())  # (id, field) of other edits

    def __bool__(self) -> bool:
        return any((self.added, self.removed, self.renamed, self.id_changed, self.redefined,
                    self.moved, self.other))

    def to_rows(self) -> list[dict[str, str]]:
        """One row per change: change, code, detail."""
        rows = [{"change": "added", "code": c, "detail": ""} for c in self.added]
        rows += [{"change": "removed", "code": c, "detail": ""} for c in self.removed]
        rows += [{"change": "renamed", "code": c, "detail": f"{a!r} -> {b!r}"}
                 for c, a, b in self.renamed]
        rows += [{"change": "id changed", "code": b, "detail": f"was {a}"}
                 for a, b in self.id_changed]
        rows += [{"change": "definition changed", "code": c, "detail": ""}
                 for c in self.redefined]
        rows += [{"change": "moved", "code": c, "detail": f"{a or '(top)'} -> {b or '(top)'}"}
                 for c, a, b in self.moved]
        rows += [{"change": f"{f} changed", "code": c, "detail": ""} for c, f in self.other]
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"changes": self.to_rows()}


def diff_codebooks(old: Codebook, new: Codebook) -> CodebookDiff:
    """Compare two codebook versions.

    A code whose id disappeared while a new id appeared with the same name or the same
    (non-empty) definition is reported as an id change, not as removed + added.
    """
    old_by_id = {c.id: c for c in old.codes}
    new_by_id = {c.id: c for c in new.codes}
    gone = [i for i in old_by_id if i not in new_by_id]
    came = [i for i in new_by_id if i not in old_by_id]
    id_changed = []
    for old_id in list(gone):
        before = old_by_id[old_id]
        for new_id in came:
            after = new_by_id[new_id]
            if after.name == before.name or (before.definition and
                                             after.definition == before.definition):
                id_changed.append((old_id, new_id))
                gone.remove(old_id)
                came.remove(new_id)
                break
    renamed, redefined, moved, other = [], [], [], []
    pairs = [(i, i) for i in old_by_id if i in new_by_id] + id_changed
    new_id_of = dict(id_changed)  # a parent whose id changed has not moved its children
    for old_id, new_id in pairs:
        a, b = old_by_id[old_id], new_by_id[new_id]
        if a.name != b.name:
            renamed.append((new_id, a.name, b.name))
        if a.definition != b.definition:
            redefined.append(new_id)
        if new_id_of.get(a.parent, a.parent) != b.parent:
            moved.append((new_id, a.parent, b.parent))
        for f in ("include", "exclude", "examples", "keywords", "patterns", "color"):
            if getattr(a, f) != getattr(b, f):
                other.append((new_id, f))
    return CodebookDiff(tuple(came), tuple(gone), tuple(renamed), tuple(id_changed),
                        tuple(redefined), tuple(moved), tuple(other))
