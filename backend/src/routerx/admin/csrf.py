"""Cross-site request forgery defence for calls authenticated by the session cookie.

A browser attaches the cookie to a request whatever page started it, so a cookie-authenticated
unsafe request (POST, PUT, PATCH, DELETE, with or without a body) must prove it comes from the
console itself:
- the `x-routerx-csrf` header, which the console's API client sends on every call. A page on
  another origin (another localhost port included) cannot add a custom header without a CORS
  preflight, and the admin API answers no preflight, so it never gets that far;
- and, when the browser says where the request comes from, that it is the same origin:
  `Sec-Fetch-Site` must be `same-origin` (or `none`, a user's own action); a browser too old to
  send it must send an `Origin` naming the host the request was sent to, if any.
Calls with an `Authorization: Bearer` token are exempt: a browser never adds that header itself.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request

from routerx.admin.client_address import is_trusted_proxy
from routerx.admin.errors import ApiError
from routerx.settings import Settings

CSRF_HEADER = "x-routerx-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})


def _refused(reason: str) -> ApiError:
    return ApiError(
        403,
        f"Cross-site request refused: {reason}. Use the console, or send an "
        "Authorization: Bearer token.",
        None,
        "csrf_failed",
    )


def _request_host(request: Request, settings: Settings) -> str:
    """The host the browser addressed: the console's, when the console proxied the call."""
    peer = request.client.host if request.client else None
    forwarded = request.headers.get("x-forwarded-host")
    if forwarded and is_trusted_proxy(peer, settings):
        return forwarded.split(",")[0].strip().lower()
    return request.headers.get("host", "").lower()


def check_same_origin(request: Request, settings: Settings) -> None:
    """Raise a 403 unless this cookie-authenticated request comes from the console."""
    if request.method in SAFE_METHODS:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() not in ALLOWED_FETCH_SITES:
        raise _refused(f"the browser reports a {fetch_site} request")
    origin = request.headers.get("origin")
    if fetch_site is None and origin is not None:
        origin_host = urlsplit(origin).netloc.lower() if origin != "null" else ""
        if origin_host != _request_host(request, settings):
            raise _refused("the Origin is not this site")
    if not request.headers.get(CSRF_HEADER):
        raise _refused(f"the {CSRF_HEADER} header is missing")
