"""Labels of the policy library's codes, translated at read time."""

from __future__ import annotations

from locales import N_

CATEGORY = {
    "employment": N_("Employment"),
    "elderly_care": N_("Elderly care"),
    "housing": N_("Housing"),
    "education": N_("Education"),
    "medical": N_("Medical care"),
    "disability": N_("Disability support"),
    "social_assistance": N_("Social assistance"),
    "enterprise_support": N_("Enterprise support"),
    "family": N_("Family and children"),
}

GRANT_STATE = {
    "pending_confirmation": N_("Waiting for your confirmation"),
    "confirmed": N_("Confirmed, being paid"),
    "paid": N_("Paid"),
    "rejected": N_("Not paid"),
    "withdrawn": N_("No longer offered"),
}

ANSWER = {
    "eligible": N_("You qualify"),
    "not_eligible": N_("You do not qualify"),
    "need_more_information": N_("We need more information"),
}
