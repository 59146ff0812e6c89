"""Sign-in, sessions (cookie and Bearer), refresh, sign-out, password change, forged tokens."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import OctKey

from routerx.admin.sessions import credential_tag
from routerx.auth.jwt import ISSUER, InvalidToken, verify_token
from routerx.auth.passwords import hash_password
from routerx.storage.models import AdminUser, AuditEntry
from tests.admin.admin_harness import JWT_SECRET, Admin

ME = "/api/v1/auth/me"


async def make_user(admin: Admin, username: str, password: str, role: str = "admin") -> None:
    with admin.database.active():
        await AdminUser.create(username=username, password_hash=hash_password(password), role=role)


async def test_login_answers_a_bearer_token_and_an_httponly_lax_cookie(admin: Admin) -> None:
    async with admin.client() as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "viewer", "password": "viewer-pass-1"}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["role"] == "viewer"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("routerx_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure


async def test_the_session_cookie_alone_signs_the_console_in(admin: Admin) -> None:
    async with admin.client() as client:
        await client.post(
            "/api/v1/auth/login", json={"username": "viewer", "password": "viewer-pass-1"}
        )
        me = await client.get(ME)  # the client sends the cookie it was given
    assert me.status_code == 200
    assert me.json()["username"] == "viewer" and me.json()["role"] == "viewer"


async def test_wrong_password_and_unknown_user_get_the_same_401(admin: Admin) -> None:
    async with admin.client() as client:
        wrong = await client.post(
            "/api/v1/auth/login", json={"username": "viewer", "password": "not-it-at-all"}
        )
        unknown = await client.post(
            "/api/v1/auth/login", json={"username": "nobody-here", "password": "whatever1"}
        )
        missing = await client.post("/api/v1/auth/login", json={"username": "viewer"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "password"


async def test_me_flags_the_default_password_until_it_is_changed(admin: Admin) -> None:
    await make_user(admin, "seeded", "admin123")
    token = await admin.login("seeded", "admin123")
    async with admin.client(token) as client:
        assert (await client.get(ME)).json()["default_password"] is True
        changed = await client.post(
            "/api/v1/auth/password",
            json={"current_password": "admin123", "new_password": "a-better-secret"},
        )
        assert changed.status_code == 200
        assert "routerx_session=" in changed.headers["set-cookie"]
        assert (await client.get(ME)).status_code == 401  # the old session ended
    async with admin.client(changed.json()["token"]) as client:
        me = await client.get(ME)
    assert me.status_code == 200 and me.json()["default_password"] is False
    async with admin.client() as client:
        old = await client.post(
            "/api/v1/auth/login", json={"username": "seeded", "password": "admin123"}
        )
    assert old.status_code == 401
    assert await admin.login("seeded", "a-better-secret")
    with admin.database.active():
        entry = await AuditEntry.filter(action="password_change", actor="seeded").first()
    assert entry is not None
    assert "a-better-secret" not in json.dumps([entry.before, entry.after])


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"current_password": "wrong-one!", "new_password": "another-pass"}, "current_password"),
        ({"current_password": "pw-changer-1", "new_password": "short"}, "new_password"),
        ({"current_password": "pw-changer-1", "new_password": "admin123"}, "new_password"),
        ({"current_password": "pw-changer-1", "new_password": "pw-changer-1"}, "new_password"),
        ({"new_password": "another-pass"}, "current_password"),
    ],
)
async def test_password_change_rejects_bad_input_naming_the_field(
    admin: Admin, body: dict[str, str], param: str
) -> None:
    with admin.database.active():
        exists = await AdminUser.exists(username="changer")
    if not exists:
        await make_user(admin, "changer", "pw-changer-1", role="viewer")
    token = await admin.login("changer", "pw-changer-1")
    async with admin.client(token) as client:
        response = await client.post("/api/v1/auth/password", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


async def test_refresh_rotates_the_token(admin: Admin) -> None:
    token = await admin.login("viewer", "viewer-pass-1")
    async with admin.client(token) as client:
        refreshed = await client.post("/api/v1/auth/refresh")
        assert refreshed.status_code == 200
        assert (await client.get(ME)).status_code == 401
    async with admin.client(refreshed.json()["token"]) as client:
        assert (await client.get(ME)).status_code == 200


async def test_logout_revokes_the_token_and_clears_the_cookie(admin: Admin) -> None:
    token = await admin.login("viewer", "viewer-pass-1")
    async with admin.client(token) as client:
        assert (await client.get(ME)).status_code == 200
        out = await client.post("/api/v1/auth/logout")
        assert out.status_code == 204
        assert 'routerx_session=""' in out.headers["set-cookie"]
        again = await client.get(ME)
    assert again.status_code == 401
    assert again.json()["error"]["type"] == "authentication_error"


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


ADMIN_TAG: dict[str, str] = {}  # the admin's credential tag, filled by the admin_tag fixture


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": "admin",
        "cred": ADMIN_TAG["tag"],
        "jti": "j" * 32,
        "iat": now,
        "exp": now + 600,
        "sat": now,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(claims: dict[str, object], secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    return jose_jwt.encode({"alg": alg}, claims, OctKey.import_key(secret.encode()), [alg])


def _alg_none() -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."


def _tampered() -> str:
    header, _payload, signature = _segments(_signed(_claims(sub="viewer")))
    return f"{header}.{_b64(_claims(sub='admin'))}.{signature}"


FORGED = {
    "alg none": _alg_none,
    "other key": lambda: _signed(_claims(), secret="another-secret-of-enough-length-000"),
    "other algorithm (HS512, same key)": lambda: _signed(_claims(), alg="HS512"),
    "expired": lambda: _signed(_claims(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
    "tampered claim": _tampered,
    "wrong issuer": lambda: _signed(_claims(iss="someone-else")),
    "no jti": lambda: _signed(_claims(jti=None)),
    "issued in the future": lambda: _signed(_claims(iat=int(time.time()) + 3600)),
    "garbage": lambda: "not.a.jwt",
}


@pytest.fixture
async def admin_tag(admin: Admin) -> None:
    with admin.database.active():
        ADMIN_TAG["tag"] = credential_tag(await AdminUser.get(username="admin"))


@pytest.mark.parametrize("kind", list(FORGED))
async def test_forged_or_stale_tokens_are_refused(admin: Admin, kind: str, admin_tag: None) -> None:
    token = FORGED[kind]()
    with pytest.raises(InvalidToken):
        verify_token(token, JWT_SECRET)
    async with admin.client(token) as client:
        response = await client.get(ME)
    assert response.status_code == 401
    async with admin.client(cookies={"routerx_session": token}) as client:
        assert (await client.get(ME)).status_code == 401


async def test_a_token_of_an_older_password_is_refused(admin: Admin, admin_tag: None) -> None:
    token = _signed(_claims(cred="0" * 16))  # well signed, but the password has changed since
    async with admin.client(token) as client:
        assert (await client.get(ME)).status_code == 401


async def test_a_valid_hand_made_token_is_accepted_so_the_forgeries_prove_something(
    admin: Admin, admin_tag: None
) -> None:
    token = _signed(_claims())
    async with admin.client(token) as client:
        assert (await client.get(ME)).status_code == 200
    token = await admin.token_for("admin")
    async with admin.client(token) as client:
        assert (await client.get(ME)).status_code == 200


async def test_a_disabled_users_session_ends_at_once(admin: Admin) -> None:
    await make_user(admin, "short-lived", "short-lived-1", role="viewer")
    token = await admin.login("short-lived", "short-lived-1")
    with admin.database.active():
        await AdminUser.filter(username="short-lived").update(disabled=True)
    async with admin.client(token) as client:
        assert (await client.get(ME)).status_code == 401
    async with admin.client() as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": "short-lived", "password": "short-lived-1"}
        )
    assert login.status_code == 401
