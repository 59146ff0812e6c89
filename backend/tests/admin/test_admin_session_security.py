"""Cookie sessions resist cross-site requests; sessions end at an absolute lifetime; the cookie
is Secure over TLS; passwords are long and not a known default."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from routerx.admin.csrf import CSRF_HEADER
from routerx.admin.sessions import COOKIE_NAME, credential_tag
from routerx.auth.jwt import issue_token, verify_token
from routerx.storage.models import AdminUser
from tests.admin.admin_harness import JWT_SECRET, Admin, pg_admin

API = "/api/v1"
CONSOLE = {CSRF_HEADER: "1", "sec-fetch-site": "same-origin"}


async def admin_cookie(admin: Admin) -> dict[str, str]:
    return {COOKIE_NAME: await admin.token_for("admin")}


async def new_key(admin: Admin) -> tuple[int, int]:
    async with admin.as_admin() as client:
        tenant = (await client.post(f"{API}/tenants", json={"name": f"t-{time.time_ns()}"})).json()
        key = (await client.post(f"{API}/tenants/{tenant['id']}/keys", json={"name": "k"})).json()
    return tenant["id"], key["api_key"]["id"]


async def key_status(admin: Admin, tenant_id: int, key_id: int) -> str:
    async with admin.as_admin() as client:
        status: str = (await client.get(f"{API}/tenants/{tenant_id}/keys/{key_id}")).json()[
            "status"
        ]
    return status


CROSS_SITE: dict[str, dict[str, str]] = {
    "no proof at all": {},
    "a page on another localhost port (same-site)": {"sec-fetch-site": "same-site"},
    "a page on another site": {"sec-fetch-site": "cross-site", CSRF_HEADER: "1"},
    "an old browser on another origin": {"origin": "http://localhost:3001", CSRF_HEADER: "1"},
    "the header alone from another site": {"sec-fetch-site": "cross-site"},
    "same-origin but no console header": {"sec-fetch-site": "same-origin"},
}


@pytest.mark.parametrize("case", list(CROSS_SITE))
async def test_cookie_requests_without_same_origin_proof_change_nothing(
    admin: Admin, case: str
) -> None:
    tenant_id, key_id = await new_key(admin)
    key_path = f"{API}/tenants/{tenant_id}/keys/{key_id}"
    headers = CROSS_SITE[case]
    async with admin.client(cookies=await admin_cookie(admin), headers=headers) as browser:
        revoke = await browser.post(key_path + "/revoke")  # bodyless
        delete = await browser.delete(key_path)
        create = await browser.post(f"{API}/tenants/{tenant_id}/keys", json={"name": "x"})
        breaker = await browser.post(f"{API}/breakers/anything/reset")
        logout = await browser.post(f"{API}/auth/logout")
        read = await browser.get(key_path)  # reading is not a change
    for refused in (revoke, delete, create, breaker, logout):
        assert refused.status_code == 403, (case, refused.text)
        assert refused.json()["error"]["code"] == "csrf_failed"
    assert read.status_code == 200
    assert await key_status(admin, tenant_id, key_id) == "active"


async def test_the_console_and_bearer_callers_may_change_things(admin: Admin) -> None:
    tenant_id, key_id = await new_key(admin)
    key_path = f"{API}/tenants/{tenant_id}/keys/{key_id}"
    async with admin.client(cookies=await admin_cookie(admin), headers=CONSOLE) as console:
        assert (await console.post(key_path + "/revoke")).status_code == 200
    assert await key_status(admin, tenant_id, key_id) == "revoked"
    # Behind the console, an old browser's Origin is compared with the host it addressed.
    proxied = {
        CSRF_HEADER: "1",
        "origin": "http://localhost:3000",
        "x-forwarded-host": "localhost:3000",
    }
    async with admin.client(cookies=await admin_cookie(admin), headers=proxied) as console:
        assert (await console.delete(key_path)).status_code == 204
    tenant_id, key_id = await new_key(admin)
    async with admin.as_admin() as script:  # Bearer: no browser adds it, no proof needed
        revoked = await script.post(f"{API}/tenants/{tenant_id}/keys/{key_id}/revoke")
    assert revoked.status_code == 200


async def test_a_refreshed_session_never_outlives_the_absolute_lifetime(admin: Admin) -> None:
    lifetime = admin.settings.session_max_lifetime_s
    with admin.database.active():
        user = await AdminUser.get(username="admin")
    started = int(time.time()) - lifetime + 90  # a session begun almost a lifetime ago
    old, _ = issue_token(
        "admin",
        credential_tag(user),
        JWT_SECRET,
        session_started_at=started,
        max_session_s=lifetime,
    )
    async with admin.client(old) as client:
        refreshed = await client.post(f"{API}/auth/refresh")
    assert refreshed.status_code == 200
    claims = verify_token(refreshed.json()["token"], JWT_SECRET)
    assert claims.session_started_at == started
    assert claims.expires_at == started + lifetime  # not now + the idle lifetime
    ended, _ = issue_token(
        "admin",
        credential_tag(user),
        JWT_SECRET,
        session_started_at=started - 100,
        max_session_s=lifetime,
    )
    async with admin.client(ended) as client:
        assert (await client.post(f"{API}/auth/refresh")).status_code == 401


@pytest.fixture(scope="module")
async def short_sessions() -> AsyncIterator[Admin]:
    async with pg_admin(session_max_lifetime_s=120) as running:
        yield running


async def test_the_absolute_lifetime_is_a_setting(short_sessions: Admin) -> None:
    async with short_sessions.client() as client:
        login = await client.post(
            f"{API}/auth/login", json={"username": "admin", "password": "admin123"}
        )
    claims = verify_token(login.json()["token"], JWT_SECRET)
    assert claims.expires_at - claims.session_started_at == 120
    assert "Max-Age=120" in login.headers["set-cookie"]


def cookie_of(response: httpx2.Response) -> str:
    header: str = response.headers["set-cookie"]
    return header


async def sign_in(admin: Admin, source: str = "127.0.0.1", **headers: str) -> httpx2.Response:
    transport = httpx2.AsyncHTTPTransport(local_address=source)
    async with httpx2.AsyncClient(
        base_url=admin.base_url, transport=transport, headers=headers, timeout=10
    ) as client:
        return await client.post(
            f"{API}/auth/login", json={"username": "admin", "password": "admin123"}
        )


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(admin: Admin) -> None:
    plain = await sign_in(admin)
    assert "Secure" not in cookie_of(plain)
    proxied = await sign_in(admin, **{"x-forwarded-proto": "https"})
    assert "Secure" in cookie_of(proxied)
    spoofed = await sign_in(admin, "127.0.0.40", **{"x-forwarded-proto": "https"})
    assert "Secure" not in cookie_of(spoofed)  # only a trusted proxy's word counts


async def test_the_cookie_is_secure_when_the_setting_says_so() -> None:
    async with pg_admin(session_cookie_secure="true") as admin:
        assert "Secure" in cookie_of(await sign_in(admin))


WEAK: dict[str, Any] = {
    "eleven characters": "elevenchars",
    "the seeded default": "admin123",
    "a known default": "password1234",
    "a known default, other case": "Password1234",
    "the username": "ops-user-name",
}


@pytest.mark.parametrize("case", list(WEAK))
async def test_weak_passwords_are_refused_on_create_reset_and_change(
    admin: Admin, case: str
) -> None:
    weak = WEAK[case]
    async with admin.as_admin() as client:
        created = await client.post(
            f"{API}/users", json={"username": "ops-user-name", "password": weak}
        )
        target = await client.post(
            f"{API}/users",
            json={"username": f"target-{time.time_ns()}", "password": "a-fine-password-1"},
        )
        reset = await client.post(
            f"{API}/users/{target.json()['id']}/password",
            json={"password": weak if case != "the username" else target.json()["username"]},
        )
        # The admin's own username is too short to test as a password: length refuses it.
        own = weak if case != "the username" else "elevenchars"
        changed = await client.post(
            f"{API}/auth/password", json={"current_password": "admin123", "new_password": own}
        )
    for answer in (created, reset, changed):
        assert answer.status_code == 400, (case, answer.text)
        assert answer.json()["error"]["param"] in {"password", "new_password"}
