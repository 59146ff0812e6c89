"""A long prompt through a real gateway process: decoded in steps (gateway.long_strings), it
reaches the provider byte for byte. The mock's answer carries a signature of the prompt's
text, which the test computes from the whole decode of the same body."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest
import pytest_asyncio

from routerx.gateway import long_strings
from routerx.providers.mock import compose_answer
from routerx.wire.openai import ChatRequest
from tests.gateway.conftest import AUTH, RunningGateway, _gateway


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def default_limits(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningGateway]:
    path: Path = tmp_path_factory.mktemp("long-prompt") / "routerx.sqlite3"
    async for gateway in _gateway(f"sqlite://{path}"):
        yield gateway


async def test_a_long_prompt_reaches_the_provider_as_sent(default_limits: RunningGateway) -> None:
    # Escapes, a surrogate pair, backslash runs and multi-byte characters all along it, so
    # that the pieces' cuts fall next to each of them.
    unit = 'Grüße \\"quoted\\" \U0001f600 tab\t end\\\\ € '
    text = unit * (2 * long_strings.LONG_STRING_BYTES // len(unit.encode()))
    body = {"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": text}]}
    encoded = json.dumps(body, ensure_ascii=False).encode()
    assert len(encoded) > 2 * long_strings.LONG_STRING_BYTES
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            default_limits.url + "/v1/chat/completions", data=encoded, headers=AUTH
        ) as response,
    ):
        assert response.status == 200, await response.text()
        answer = (await response.json())["choices"][0]["message"]["content"]
    found = re.match(r"Mock answer from (\S+) \((\S+)\):", answer)
    assert found is not None, answer
    request = msgspec.convert(msgspec.json.decode(encoded), ChatRequest)
    assert answer == compose_answer(request, found[1], found[2]).text
