"""Resources applied from a configuration file are managed by it: the API refuses to change them
(409 `managed_by_file`, naming the file) so that the file stays the source of truth, unless
CONFIG_FILE_ALLOW_API_EDITS is set."""

from __future__ import annotations

from routerx.admin.endpoint import Call
from routerx.admin.errors import ApiError

OVERRIDE = "CONFIG_FILE_ALLOW_API_EDITS"


def refuse_if_managed(call: Call, what: str, managed_by: str | None) -> None:
    if managed_by is None or call.services.settings.config_file_allow_api_edits:
        return
    raise ApiError(
        409,
        f"{what} is managed by the configuration file {managed_by}: change it there and apply "
        f"the file (or set {OVERRIDE}=true to allow edits here).",
        None,
        "managed_by_file",
    )
