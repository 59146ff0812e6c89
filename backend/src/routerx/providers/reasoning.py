"""`reasoning_effort` for providers that take a thinking budget in tokens instead of a level.

| effort  | budget_tokens (Anthropic) / thinkingBudget (Gemini) |
| ------- | --------------------------------------------------- |
| minimal | 1024 (Anthropic's smallest budget)                  |
| low     | 2048                                                |
| medium  | 8192                                                |
| high    | 24576 (Gemini Flash's largest budget)               |
"""

from __future__ import annotations

from routerx.wire.openai import ReasoningEffort

THINKING_BUDGETS: dict[ReasoningEffort, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 24576,
}


def thinking_budget(effort: ReasoningEffort) -> int:
    return THINKING_BUDGETS[effort]
