"""社保: social security summary, contributions, pension payments and certificates."""

from locales import N_
from miniprograms.contract import MiniProgram
from miniprograms.social_security import card, routes, upstream

PROGRAM = MiniProgram(
    slug="social_security",
    title=N_("Social security"),
    router=routes.router,
    card=card.card,
    scopes={
        "view_social_security": N_("See my social security"),
        "issue_social_security_certificate": N_("Get contribution certificates in my name"),
    },
    problems={
        "month_range_invalid": (
            422,
            N_("Invalid month range"),
            N_("Use YYYY-MM months, from before to, at most ten years apart."),
        ),
        "not_insured": (
            409,
            N_("No contribution record"),
            N_("There is no social security contribution record to certify."),
        ),
    },
    order=10,
    dependencies={"social_security": upstream.social_security_client},
    upstreams=(upstream.UPSTREAM,),
    models_module="miniprograms.social_security.models",
    migrations_module="miniprograms.social_security.migrations",
)
