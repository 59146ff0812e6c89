"""The ASGI entry point hypercorn workers import: `routerx.gateway.asgi:app`."""

from routerx.gateway.app import build_app
from routerx.settings import get_settings

app = build_app(get_settings())
