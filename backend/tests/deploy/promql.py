"""PromQL as the dashboard and the rules use it: Grafana variables expanded, selectors listed.

With `promql-parser` installed (a dev extra) expressions are parsed for real, so a syntax error
fails; without it, metric names are found by a lexical scan, which still catches a misspelled or
unexported metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:
    import promql_parser
except ImportError:  # pragma: no cover - depends on the dev extras installed
    promql_parser = None

PARSER = "promql-parser" if promql_parser is not None else None

_GRAFANA_RANGES = re.compile(
    r"\$(__rate_interval|__interval|__range)\b|\$\{(__rate_interval|__interval|__range)\}"
)
_GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_LABEL_BLOCKS = re.compile(r"\{[^}]*\}")
_IDENTIFIERS = re.compile(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b")
_LABEL_NAMES = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


@dataclass(frozen=True)
class Selector:
    metric: str | None
    labels: frozenset[str]


def expand_grafana(expr: str) -> str:
    """Grafana's range variables become a duration and template variables a match-all regex."""
    expr = _GRAFANA_RANGES.sub("5m", expr)
    return _GRAFANA_VARIABLE.sub(".*", expr)


def selectors(expr: str) -> list[Selector]:
    if promql_parser is not None:
        found: list[Selector] = []

        def visit(node: object) -> None:
            if isinstance(node, promql_parser.VectorSelector):
                labels = frozenset(m.name for m in node.matchers.matchers)
                found.append(Selector(node.name, labels - {"__name__"}))

        promql_parser.walk(promql_parser.parse(expr), visit)
        return found
    return _scan(expr)


def _scan(expr: str) -> list[Selector]:
    """Metric-looking identifiers outside strings and label blocks, with the label names in the
    block that follows each; function names and keywords are never `routerx_`-prefixed or `up`."""
    found = []
    blanked = _STRINGS.sub('""', expr)
    for match in _IDENTIFIERS.finditer(_LABEL_BLOCKS.sub(lambda m: " " * len(m[0]), blanked)):
        name = match.group(0)
        if not (name.startswith("routerx") or name == "up"):
            continue
        rest = blanked[match.end() :]
        block = _LABEL_BLOCKS.match(rest)
        labels = frozenset(_LABEL_NAMES.findall(block.group(0))) if block else frozenset()
        found.append(Selector(name, labels))
    return found
