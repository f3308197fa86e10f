"""Labels of the province's codes, translated at read time."""

from __future__ import annotations

from locales import N_

INSURANCE = {
    "pension": N_("Pension insurance"),
    "medical": N_("Medical insurance"),
    "unemployment": N_("Unemployment insurance"),
    "work_injury": N_("Work injury insurance"),
    "maternity": N_("Maternity insurance"),
}
STATUS = {
    "paying": N_("Contributing"),
    "suspended": N_("Contributions paused"),
    "receiving": N_("Receiving benefits"),
    "ended": N_("Ended"),
    "not_insured": N_("Not insured"),
}
