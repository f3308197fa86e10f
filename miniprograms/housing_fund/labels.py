"""Labels of the province's housing fund codes, translated at read time."""

from __future__ import annotations

from locales import N_

ACCOUNT_STATUS = {"normal": N_("Normal"), "sealed": N_("Sealed")}
TRANSACTION = {
    "deposit": N_("Monthly deposit"),
    "withdrawal": N_("Withdrawal"),
    "interest": N_("Interest"),
    "loan_repayment": N_("Loan repayment"),
}
REASON = {
    "rent": N_("Paying rent"),
    "purchase": N_("Buying a home"),
    "retirement": N_("Retirement"),
    "renovation": N_("Renovation"),
    "medical": N_("Serious illness"),
    "leaving_city": N_("Leaving the city"),
}
APPLICATION_STATUS = {
    "submitting": N_("Submitting"),
    "reviewing": N_("Under review"),
    "approved": N_("Approved"),
    "paid": N_("Paid"),
    "rejected": N_("Rejected"),
}
