"""The console: patched against the middleware bypass (CVE-2025-29927), security headers on
its pages, and no protected data without a session.

The version check reads the lock file and the installed package (fast, always runs). The rest
builds the console (about a minute) against the security stack's admin API and starts it with
its production server (frontend/server.mjs): it carries the `console` marker and runs with
`pytest -m console tests/security`. Through that server the admin API learns the browser's
socket address (never a client-sent header), and the console's API calls carry the CSRF header.

The console has no server-side sign-in redirect: proxy.ts (Next 16's middleware) only sets the
per-request nonce CSP, pages are client components that ask the admin API, and a 401 sends the
browser to /login. So the bypass is checked where it would matter: with each
`x-middleware-subrequest` variant the proxy still runs (the page still gets a fresh nonce CSP),
the page HTML still holds no data, and /api/* through the console is still refused without a
session.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from tests.security.conftest import VIEWER_PASSWORD, Stack, poll
from tests.support.processes import free_port

FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
NEXT = FRONTEND / "node_modules" / "next" / "dist" / "bin" / "next"
DIST_DIR = ".next/routerx-security"  # inside the ignored .next/, apart from the normal build
PATCHED = (15, 2, 3)
BUILD_TIMEOUT_S = 600
BYPASS_VALUES = [
    "middleware:middleware:middleware:middleware:middleware",
    "src/middleware:src/middleware:src/middleware:src/middleware:src/middleware",
    "proxy:proxy:proxy:proxy:proxy",
    "src/proxy:src/proxy:src/proxy:src/proxy:src/proxy",
    "pages/_middleware",
    "middleware",
]
SAFE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
# The first test here waits for the console build, which can outlast the suite's per-test limit
# on a busy machine.
pytestmark = pytest.mark.timeout(BUILD_TIMEOUT_S + 120)


def version(text: str) -> tuple[int, int, int]:
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", text)
    assert match, text
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def test_next_is_not_vulnerable_to_the_middleware_bypass() -> None:
    """CVE-2025-29927 is fixed from 15.2.3 (and 14.2.25, 13.5.9, 12.3.5); we require >= 15.2.3
    in the lock file and in what is installed."""
    lock = json.loads((FRONTEND / "package-lock.json").read_text())
    locked = lock["packages"]["node_modules/next"]["version"]
    assert version(locked) >= PATCHED, locked
    installed_manifest = FRONTEND / "node_modules" / "next" / "package.json"
    if installed_manifest.exists():
        installed = json.loads(installed_manifest.read_text())["version"]
        assert installed == locked, (installed, locked)


@pytest.fixture(scope="module")
def built_console(stack: Stack) -> Iterator[Path]:
    """`next build` into a directory of its own, with the rewrite aimed at the stack's admin."""
    if not NEXT.exists():
        pytest.skip("frontend/node_modules is missing: run `make install-frontend`")
    env = {
        **os.environ,
        "NEXT_TELEMETRY_DISABLED": "1",
        "NEXT_DIST_DIR": DIST_DIR,
        "ADMIN_API_URL": stack.admin.url,
        "NODE_ENV": "production",
    }
    result = subprocess.run(
        ["node", str(NEXT), "build"],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    yield FRONTEND / DIST_DIR


@pytest.fixture(scope="module")
def console_process(stack: Stack, built_console: Path) -> Iterator[tuple[str, Path]]:
    """server.mjs on a free port, in its own process group; yields its URL and log file."""
    port = free_port()
    env = {
        **os.environ,
        "NEXT_TELEMETRY_DISABLED": "1",
        "NEXT_DIST_DIR": DIST_DIR,
        "ADMIN_API_URL": stack.admin.url,
        "NODE_ENV": "production",
        "CONSOLE_PORT": str(port),
    }
    env.pop("HOST", None)
    env.pop("CONSOLE_HOST", None)
    log = built_console / "security-console.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=FRONTEND,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it ends any child it forked
        )
    try:
        yield f"http://127.0.0.1:{port}", log
        assert process.poll() is None, log.read_text()[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def console(console_process: tuple[str, Path]) -> str:
    url, log = console_process

    async def up() -> bool:
        try:
            async with aiohttp.ClientSession() as session, session.get(url + "/login") as r:
                return r.status == 200
        except aiohttp.ClientError:
            return False

    await poll(up, f"the console answers (log: {log})", timeout_s=60)
    return url


async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers=headers or {}, allow_redirects=False) as response,
    ):
        return (
            response.status,
            {k.lower(): v for k, v in response.headers.items()},
            await response.text(),
        )


def assert_page_headers(headers: dict[str, str]) -> str:
    """The headers every page must carry; returns the CSP's nonce."""
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, csp
    assert "object-src 'none'" in csp and "base-uri 'self'" in csp, csp
    nonce = re.search(r"'nonce-([^']+)'", csp)
    assert nonce, f"no per-request nonce: proxy.ts did not run ({csp!r})"
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0], csp
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") in SAFE_REFERRER, headers.get("referrer-policy")
    assert "x-powered-by" not in headers
    return nonce.group(1)


PAGES = ["/", "/login", "/tenants", "/providers", "/users", "/logs", "/account", "/no-such-page"]


@pytest.mark.console
@pytest.mark.parametrize("page", PAGES)
async def test_pages_carry_the_security_headers(stack: Stack, console: str, page: str) -> None:
    status, headers, html = await fetch(console + page)
    assert status in (200, 404), status
    first = assert_page_headers(headers)
    _, again, _ = await fetch(console + page)
    assert assert_page_headers(again) != first, "the nonce must be fresh on every request"
    for secret in (*stack.keys.values(), "sec-a", "leaky-upstream", stack.provider_secret):
        assert secret not in html  # pages are shells: data comes from the API, with a session


@pytest.mark.console
@pytest.mark.parametrize("value", BYPASS_VALUES)
async def test_the_middleware_bypass_header_changes_nothing(
    stack: Stack, console: str, value: str
) -> None:
    bypass = {"x-middleware-subrequest": value}
    for page in ("/", "/tenants", "/users"):
        status, headers, html = await fetch(console + page, bypass)
        assert status == 200, (page, status)
        assert_page_headers(headers)  # proxy.ts still ran
        assert "sec-a" not in html and stack.provider_secret not in html
    for path in ("/api/v1/auth/me", "/api/v1/tenants", "/api/v1/providers"):
        status, _, body = await fetch(console + path, bypass)
        assert status == 401, (path, status, body[:200])
    # with a session, the same route answers: the 401s above are about the session alone
    status, _, _ = await fetch(
        console + "/api/v1/tenants", {**bypass, "authorization": f"Bearer {stack.admin_token}"}
    )
    assert status == 200


@pytest.mark.console
async def test_the_console_build_is_recent(built_console: Path) -> None:
    """The build the tests ran against was made now, from the current sources."""
    assert time.time() - (built_console / "BUILD_ID").stat().st_mtime < BUILD_TIMEOUT_S + 120


@pytest.mark.console
async def test_the_admin_api_learns_the_browsers_socket_address(stack: Stack, console: str) -> None:
    spoofed = {"x-forwarded-for": "203.0.113.1", "x-routerx-client-address": "203.0.113.2"}
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.5", 0))
    async with (
        aiohttp.ClientSession(connector=connector) as browser,
        browser.post(
            console + "/api/v1/auth/login",
            json={"username": "console-address-probe", "password": "not-the-password"},
            headers=spoofed,
        ) as response,
    ):
        assert response.status == 401
    status, audit = await stack.admin_call("GET", "/audit?limit=50")
    assert status == 200
    addresses = [
        entry["after"]["address"] for entry in audit["data"] if entry["action"] == "login_failed"
    ]
    assert addresses and addresses[0] == "127.0.0.5", addresses


@pytest.mark.console
async def test_console_changes_need_its_csrf_header(stack: Stack, console: str) -> None:
    # unsafe=True: keep cookies of an IP-address host (127.0.0.1), as a browser does.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.post(
            console + "/api/v1/auth/login",
            json={"username": "sec-viewer", "password": VIEWER_PASSWORD},
        ) as login:
            assert login.status == 200
        assert browser.cookie_jar.filter_cookies(console).get("routerx_session") is not None
        async with browser.post(console + "/api/v1/auth/refresh") as forged:
            assert forged.status == 403
            assert (await forged.json())["error"]["code"] == "csrf_failed"
        headers = {"x-routerx-csrf": "1", "sec-fetch-site": "same-origin"}
        async with browser.post(console + "/api/v1/auth/refresh", headers=headers) as real:
            assert real.status == 200


@pytest.mark.console
async def test_the_console_listens_on_loopback_unless_host_says_otherwise(console: str) -> None:
    port = int(console.rsplit(":", 1)[1])

    def accepts(address: str) -> bool:
        with socket.socket() as probe:
            probe.settimeout(2)
            return probe.connect_ex((address, port)) == 0

    assert accepts("127.0.0.1")
    assert not accepts("127.0.0.2")  # reachable only on a wildcard bind
