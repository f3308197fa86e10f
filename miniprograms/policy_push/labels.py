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
