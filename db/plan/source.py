"""Reading a plan file: YAML in, a checked `Plan` out, or one error naming file, line and field."""

from __future__ import annotations

import difflib
import types
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from db.plan.calendar import CalendarError, Loc, ObligationPlan, expand_reports
from db.plan.checks import find_problems
from db.plan.coded import code_of
from db.plan.schema import PlanFile
from db.unit_calendar import UnitCalendar

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader that leaves 2024-03-10 as text, so the date check can name the ISO mistake."""


_PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PlanError(Exception):
    """A plan file that cannot be loaded, as "file:line: field: message".

    `code` and `data` name the mistake for the catalog (empty: only the English words), and
    `subject` what it is about, as ("task", "2.3"), ("report", code), ("official", name) or
    ("unit", code): the clerk reads "Nhiệm vụ 2.3 (tasks[2].due): …".
    """

    def __init__(
        self,
        filename: str,
        line: int | None,
        field: str,
        message: str,
        code: str = "",
        data: dict[str, str] | None = None,
        subject: tuple[str, str] | None = None,
    ) -> None:
        self.filename = filename
        self.line = line
        self.field = field
        self.message = message
        self.code = code
        self.data = data or {}
        self.subject = subject
        where = filename if line is None else f"{filename}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass(frozen=True)
class Plan:
    """A checked plan file and the report instances its calendar makes."""

    filename: str
    spec: PlanFile
    obligations: tuple[ObligationPlan, ...]
    # Where `unit.parent` is written, for the loader's error when that unit is not there.
    parent_line: int | None = None

    @cached_property
    def calendar(self) -> UnitCalendar:
        """The unit's working calendar; the obligations' due dates already follow it."""
        return self.spec.unit.calendar.unit_calendar()

    @property
    def base_dir(self) -> Path:
        """The directory template paths are relative to."""
        return Path(self.filename).resolve().parent


def read_plan(path: Path) -> Plan:
    """Read and check the plan file at `path`."""
    filename = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(filename, None, "", "no such file", "no_such_file") from None
    except UnicodeDecodeError:
        raise PlanError(filename, None, "", "not UTF-8 text", "not_utf8") from None
    except OSError as exc:
        raise PlanError(
            filename, None, "", f"cannot read the file ({exc.strerror})", "cannot_read"
        ) from None
    return parse_plan(text, filename)


def parse_plan(text: str, filename: str) -> Plan:
    """Check the YAML `text` of a plan file; errors name `filename`."""
    root, data = _compose(text, filename)
    try:
        spec = PlanFile.model_validate(data)
    except ValidationError as exc:
        # The first problem in reading order, not in the order pydantic checked the fields.
        err = min(exc.errors(), key=lambda error: _line_of(root, error["loc"]))
        line = _line_of(root, err["loc"])
        code, fields = error_code(err)
        raise PlanError(
            filename,
            line,
            field_path(err["loc"]),
            describe_error(err),
            code,
            fields,
            subject_of(data, err["loc"]),
        ) from None
    problems = find_problems(spec)
    if problems:
        loc, message = min(problems, key=lambda problem: _line_of(root, problem[0]))
        code, fields = code_of(message)
        raise PlanError(
            filename,
            _line_of(root, loc),
            field_path(loc),
            message,
            code,
            fields,
            subject_of(data, loc),
        )
    try:
        obligations = expand_reports(
            spec.reports, spec.unit.reports_to, spec.unit.calendar.unit_calendar()
        )
    except CalendarError as exc:
        raise PlanError(
            filename,
            _line_of(root, exc.loc),
            field_path(exc.loc),
            exc.message,
            exc.code,
            exc.data,
            subject_of(data, exc.loc),
        ) from None
    parent_line = _line_of(root, ("unit", "parent")) if spec.unit.parent else None
    return Plan(filename, spec, tuple(obligations), parent_line)


def _compose(text: str, filename: str) -> tuple[yaml.Node, Any]:
    """The node tree (for line numbers) and the plain data of the YAML document."""
    loader = _PlanLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise PlanError(filename, None, "", "the file is empty", "file_empty")
        _reject_duplicate_keys(root, (), filename)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, filename) from None
    except yaml.YAMLError as exc:
        raise PlanError(filename, None, "", f"invalid YAML: {exc}", "yaml_syntax") from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        raise PlanError(
            filename, root.start_mark.line + 1, "", "expected a mapping (unit: ...)", "not_a_plan"
        )
    return root, _nfc(data)


def _syntax_error(exc: yaml.MarkedYAMLError, filename: str) -> PlanError:
    # PyYAML notices a mistake where it stops making sense (problem_mark); the construct it
    # was reading (context_mark, e.g. an unclosed "[") may have started on an earlier line.
    problem_line = exc.problem_mark.line + 1 if exc.problem_mark else None
    context_line = exc.context_mark.line + 1 if exc.context_mark else None
    message = f"invalid YAML: {exc.problem or exc.context or 'cannot be read'}"
    if exc.context and context_line is not None and context_line != problem_line:
        message += f" ({exc.context} started on line {context_line})"
        return PlanError(
            filename,
            problem_line or context_line,
            "",
            message,
            "yaml_syntax_from",
            {"started": str(context_line)},
        )
    return PlanError(filename, problem_line or context_line, "", message, "yaml_syntax")


def _reject_duplicate_keys(node: yaml.Node, loc: Loc, filename: str) -> None:
    # PyYAML silently keeps the last of two equal keys; in a plan that hides a mistake.
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            name = _nfc(str(key.value))
            line = key.start_mark.line + 1
            if name in first:
                message = f"the field appears twice (lines {first[name]} and {line})"
                raise PlanError(
                    filename,
                    line,
                    field_path((*loc, name)),
                    message,
                    "field_twice",
                    {"first": str(first[name]), "line": str(line)},
                )
            first[name] = line
            _reject_duplicate_keys(value, (*loc, name), filename)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, (*loc, index), filename)


def _nfc(value: Any) -> Any:
    """Every string in NFC: phone keyboards and editors mix NFC and NFD Vietnamese."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_nfc(k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(item) for item in value]
    return value


def _line_of(root: yaml.Node, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest node of `loc` present in the file."""
    node, line = root, root.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if _nfc(str(key.value)) == str(step):
                    node, line = value, key.start_mark.line + 1
                    break
            else:
                break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def field_path(loc: Sequence[Any]) -> str:
    """`tasks[3].lead[0]` from ("tasks", 3, "lead", 0)."""
    text = ""
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += f".{step}" if text else str(step)
    return text


def subject_of(data: Any, loc: Sequence[Any]) -> tuple[str, str] | None:
    """What a mistake at `loc` is about, named as the clerk knows it (a task by its code)."""
    if not loc or not isinstance(data, dict):
        return None
    section = loc[0]
    if section == "unit":
        unit = data.get("unit")
        return "unit", str(unit.get("code", "")) if isinstance(unit, dict) else ""
    kinds = {
        "tasks": ("task", "code"),
        "reports": ("report", "code"),
        "officials": ("official", "name"),
    }
    if section not in kinds or len(loc) < 2 or not isinstance(loc[1], int):
        return None
    kind, name_field = kinds[section]
    items = data.get(section)
    if not isinstance(items, list) or not 0 <= loc[1] < len(items):
        return None
    item = items[loc[1]]
    name = item.get(name_field) if isinstance(item, dict) else None
    return kind, str(name) if name is not None else f"#{loc[1] + 1}"


def error_code(err: ErrorDetails) -> tuple[str, dict[str, str]]:
    """The code and data of a schema error, for the catalog; ("", {}) when it has none."""
    kind = err["type"]
    ctx = err.get("ctx", {})
    if kind == "missing":
        return "missing", {}
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        close = difflib.get_close_matches(name, _fields_at(err["loc"][:-1]), n=1)
        return (
            ("unknown_field_like", {"name": name, "like": close[0]})
            if close
            else (
                "unknown_field",
                {"name": name},
            )
        )
    if kind == "value_error":
        return code_of(ctx.get("error"))
    if kind == "literal_error":
        return "not_one_of", {"value": str(err.get("input")), "expected": str(ctx.get("expected"))}
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        limit = next(iter(ctx.values()), "")
        return f"number_{kind}", {"value": str(err.get("input")), "limit": str(limit)}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "empty_text", {}
    if kind in _LENGTH_CODES:
        limit = ctx.get("min_length", ctx.get("max_length", ""))
        return _LENGTH_CODES[kind], {"limit": str(limit)}
    if kind in _TYPE_CODES:
        return _TYPE_CODES[kind], {"value": str(err.get("input"))}
    return "", {}


# pydantic's own checks of a value's type, by the word the clerk would use.
_TYPE_CODES = {
    "int_parsing": "not_integer",
    "int_type": "not_integer",
    "int_from_float": "not_integer",
    "float_parsing": "not_number",
    "float_type": "not_number",
    "bool_parsing": "not_yes_no",
    "bool_type": "not_yes_no",
    "string_type": "not_text",
    "list_type": "not_list",
    "tuple_type": "not_list",
    "dict_type": "not_mapping",
    "model_type": "not_mapping",
    "model_attributes_type": "not_mapping",
    "date_type": "bad_date",
    "date_parsing": "bad_date",
    "date_from_datetime_parsing": "bad_date",
    "date_from_datetime_inexact": "bad_date",
}
_LENGTH_CODES = {
    "string_too_short": "text_too_short",
    "string_too_long": "text_too_long",
    "too_short": "too_few",
    "too_long": "too_many",
}


def describe_error(err: ErrorDetails) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(err["loc"])
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    message = err["msg"]
    return message[:1].lower() + message[1:]


def _unknown_field(loc: Sequence[Any]) -> str:
    name = str(loc[-1])
    allowed = _fields_at(loc[:-1])
    close = difflib.get_close_matches(name, allowed, n=1)
    if close:
        return f"unknown field {name!r} (did you mean {close[0]!r}?)"
    if allowed:
        return f"unknown field {name!r}; expected one of: {', '.join(allowed)}"
    return f"unknown field {name!r}"


def _fields_at(loc: Sequence[Any]) -> list[str]:
    """The field names the model at `loc` accepts (as written in the file)."""
    model: type[BaseModel] = PlanFile
    for step in loc:
        if isinstance(step, int):
            continue
        fields = {info.alias or name: info for name, info in model.model_fields.items()}
        info = fields.get(str(step))
        inner = _model_in(info.annotation) if info is not None else None
        if inner is None:
            return []
        model = inner
    return [info.alias or name for name, info in model.model_fields.items()]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside `list[X]` or `X | None`, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
