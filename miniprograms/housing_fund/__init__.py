"""公积金: housing fund account, transactions, loan and withdrawals."""

from locales import N_
from miniprograms.contract import MiniProgram
from miniprograms.housing_fund import card, routes, upstream

PROGRAM = MiniProgram(
    slug="housing_fund",
    title=N_("Housing fund"),
    router=routes.router,
    card=card.card,
    scopes={
        "view_housing_fund": N_("See my housing fund"),
        "apply_housing_fund_withdrawal": N_("Apply for housing fund withdrawals for me"),
    },
    problems={
        "housing_fund_account_not_found": (
            404,
            N_("No housing fund account"),
            N_("You have no housing fund account in this province."),
        ),
        "housing_fund_loan_not_found": (
            404,
            N_("No housing fund loan"),
            N_("You have no housing fund loan."),
        ),
        "housing_fund_sealed": (
            409,
            N_("Account sealed"),
            N_(
                "Your housing fund account is sealed. Only retirement withdrawals are possible until it is reopened."
            ),
        ),
        "withdrawal_exceeds_balance": (
            422,
            N_("Amount too large"),
            N_("The amount is more than you can withdraw. Check the withdrawable balance."),
        ),
        "withdrawal_reason_invalid": (
            422,
            N_("Reason not accepted"),
            N_("This withdrawal reason is not accepted."),
        ),
    },
    order=20,
    dependencies={"housing_fund": upstream.housing_fund_client},
    upstreams=(upstream.UPSTREAM,),
    models_module="miniprograms.housing_fund.models",
    migrations_module="miniprograms.housing_fund.migrations",
)
