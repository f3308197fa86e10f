"""政策推送: the policy library (drafts, versions, two-person publishing, Chinese search)
and its eligibility rules (eligibility/: the rule language, explained answers, SQL).

Matching the population and 免申即享 grants arrive in later steps of the policy-push
issue; this is what they build on.
"""

from locales import N_
from miniprograms.contract import MiniProgram, ProblemType
from miniprograms.policy_push import card, demo, routes

PROGRAM = MiniProgram(
    slug="policy_push",
    title=N_("Policies for you"),
    router=routes.router,
    card=card.card,
    problems={
        "policy_two_person": ProblemType(
            409,
            N_("Another operator must publish this"),
            N_(
                "You wrote a version of this since it was last published, so someone else must check and publish it."
            ),
        ),
        "policy_changed_since_review": ProblemType(
            409,
            N_("Changed since you reviewed it"),
            N_("A newer version ({latest}) was saved since. Review it, then publish that."),
        ),
        "policy_nothing_to_publish": ProblemType(
            409,
            N_("Nothing new to publish"),
            N_("The latest version of this policy is already published."),
        ),
        "policy_retired": ProblemType(
            409, N_("Policy retired"), N_("This policy was retired and can no longer change.")
        ),
        "policy_not_published": ProblemType(
            409, N_("Policy not published"), N_("Only a published policy can be retired.")
        ),
        "policy_audience_fixed": ProblemType(
            409,
            N_("Audience cannot change"),
            N_("A policy stays for residents or for enterprises. Draft a new policy instead."),
        ),
        "policy_dates_invalid": ProblemType(
            422,
            N_("Dates do not fit"),
            N_("A policy cannot end before it takes effect."),
        ),
        "policy_rule_invalid": ProblemType(
            422,
            N_("Eligibility rule cannot be used"),
            N_("Check the eligibility rule: each error gives the place in the rule and why."),
        ),
        "policy_amounts_invalid": ProblemType(
            422,
            N_("Amounts do not fit"),
            N_("Give each amount its own start date, in date order."),
        ),
    },
    order=25,  # after the accounts people check most, before anything added later
    models_module="miniprograms.policy_push.models",
    migrations_module="miniprograms.policy_push.migrations",
    demo=demo.seed,
)
