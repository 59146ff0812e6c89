"""Reading a configuration file: YAML (or JSON, which YAML reads too) with the line of every
value kept, so each error says where it is: `routerx.yaml:12: rules[0].targets[1].provider: ...`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import yaml

from routerx.config_file.schema import ConfigFile

MAX_FILE_BYTES = 5 * 1024 * 1024
# Fields that would carry a secret; the file names secrets (secret_env) or digests instead.
SECRET_FIELDS = {
    "providers": (
        ("secret", "api_key"),
        "a secret value is refused in the file: name the environment variable that holds it "
        "with secret_env",
    ),
    "keys": (
        ("key", "value"),
        "an API key's value is refused in the file: give its SHA-256 digest, or leave it out "
        "and `routerx config apply` generates one",
    ),
}
_MSGSPEC_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]*)`")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ConfigFileError(Exception):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        super().__init__("\n".join(problem.render(source) for problem in problems))
        self.source = source
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LoadedFile:
    source: str  # the path as given, for messages
    label: str  # what resources applied from it are marked with: the file's name
    digest: str  # sha256 of the file's bytes, hex
    document: ConfigFile
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int | None:
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = _parent(path)

    def problem(self, path: str, message: str) -> Problem:
        return Problem(path, message, self.line_of(path))


def _parent(path: str) -> str:
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class _Builder:
    """Plain Python values from YAML nodes, recording each value's (1-based) line by path."""

    def __init__(self, loader: _TextDatesLoader) -> None:
        self.loader = loader
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: str) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node)
                if not isinstance(key, str):
                    self.problems.append(
                        Problem(
                            path, f"keys must be text, got {key!r}", key_node.start_mark.line + 1
                        )
                    )
                    continue
                child = _join(path, key)
                if key in result:
                    self.problems.append(
                        Problem(child, "this key appears twice", key_node.start_mark.line + 1)
                    )
                    continue
                self.lines[child] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, _join(path, index)) for index, item in enumerate(node.value)]
        return self.loader.construct_object(node)


# libyaml's parser when PyYAML has it (several times faster), else PyYAML's own.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextDatesLoader(_SAFE_LOADER):  # type: ignore[misc, valid-type]
    """YAML 1.1 reads 2024-10-21 as a date; in these files such values are versions (text)."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def parse(text: str, source: str) -> tuple[Any, dict[str, int]]:
    loader = _TextDatesLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        builder = _Builder(loader)
        data = builder.build(node, "")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigFileError(
            source, [Problem("", f"not valid YAML: {exc.problem}", line)]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(source, [Problem("", f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if builder.problems:
        raise ConfigFileError(source, builder.problems)
    return data, builder.lines


def _secret_problems(data: Any, lines: dict[str, int]) -> list[Problem]:
    problems: list[Problem] = []

    def scan(items: Any, path: str, kind: str) -> None:
        fields, message = SECRET_FIELDS[kind]
        for index, item in enumerate(items if isinstance(items, list) else []):
            if not isinstance(item, dict):
                continue
            for name in fields:
                if name in item:
                    where = f"{_join(path, index)}.{name}"
                    problems.append(Problem(where, message, lines.get(where)))

    if not isinstance(data, dict):
        return problems
    scan(data.get("providers"), "providers", "providers")
    tenants = data.get("tenants")
    for index, tenant in enumerate(tenants if isinstance(tenants, list) else []):
        if isinstance(tenant, dict):
            scan(tenant.get("keys"), f"tenants[{index}].keys", "keys")
    return problems


def _schema_problem(exc: msgspec.ValidationError, lines: dict[str, int]) -> Problem:
    text = str(exc)
    path = ""
    match = _MSGSPEC_PATH.search(text)
    if match:
        path = match.group("path").lstrip(".")
        text = text[: match.start()]
    named = _NAMED_FIELD.search(text)
    if named and text.startswith("Object contains unknown"):
        path = _join(path, named.group("name"))
    probe = path
    while probe not in lines and probe:
        probe = _parent(probe)
    return Problem(path, text, lines.get(probe))


def load_text(text: str, source: str, digest: str | None = None) -> LoadedFile:
    from routerx.config_file.checks import cross_reference_problems

    data, lines = parse(text, source)
    problems = _secret_problems(data, lines)
    if problems:
        raise ConfigFileError(source, problems)
    try:
        document = msgspec.convert(data, ConfigFile)
    except msgspec.ValidationError as exc:
        raise ConfigFileError(source, [_schema_problem(exc, lines)]) from None
    loaded = LoadedFile(
        source,
        Path(source).name or source,
        digest or hashlib.sha256(text.encode()).hexdigest(),
        document,
        lines,
    )
    problems = cross_reference_problems(loaded)
    if problems:
        raise ConfigFileError(source, problems)
    return loaded


def load_file(path: str) -> LoadedFile:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigFileError(
            path, [Problem("", f"cannot read the file: {exc.strerror}")]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigFileError(path, [Problem("", f"larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigFileError(path, [Problem("", "not UTF-8 text")]) from None
    return load_text(text, path, hashlib.sha256(raw).hexdigest())
