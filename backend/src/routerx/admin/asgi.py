"""The ASGI entry point `routerx admin` serves: `routerx.admin.asgi:app`."""

from routerx.admin.app import build_admin_app
from routerx.settings import get_settings

app = build_admin_app(get_settings())
