"""The permissions a resident can grant a relative."""

from __future__ import annotations

from app_api.miniprogram import installed
from locales import N_

CORE_SCOPES = {
    "view_profile": N_("See my profile"),
    "receive_notifications": N_("Receive my notifications"),
}


def grantable() -> dict[str, str]:
    """Every scope: the core ones plus those each installed mini-program declares."""
    scopes = dict(CORE_SCOPES)
    for program in installed():
        scopes.update(program.scopes)
    return scopes
