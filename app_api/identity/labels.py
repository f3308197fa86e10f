"""Human labels for the stable codes stored on profiles (translated at read time)."""

from __future__ import annotations

from locales import N_, gettext

DISTRICT_LABELS = {
    "321302": N_("Sucheng District"),
    "321311": N_("Suyu District"),
    "321322": N_("Shuyang County"),
    "321323": N_("Siyang County"),
    "321324": N_("Sihong County"),
}
HUKOU_LABELS = {
    "local_urban": N_("Local urban household"),
    "local_rural": N_("Local rural household"),
    "nonlocal": N_("Household registered elsewhere"),
}
EMPLOYMENT_LABELS = {
    "employed": N_("Employed"),
    "self_employed": N_("Self-employed"),
    "unemployed": N_("Unemployed"),
    "retired": N_("Retired"),
    "student": N_("Student"),
    "other": N_("Other"),
}
SIZE_LABELS = {
    "micro": N_("Micro"),
    "small": N_("Small"),
    "medium": N_("Medium"),
    "large": N_("Large"),
}


def label(table: dict[str, str], code: str | None) -> str | None:
    """The translated label of ``code``, or ``None`` when it is unset."""
    if code is None:
        return None
    return gettext(table[code]) if code in table else code
