"""政策推送 / 政策找人: the policy library (drafts, versions, two-person publishing, Chinese
search), eligibility rules (eligibility/: the rule language, explained answers, SQL), the
facts matching reads (profiles), matching a policy to the population and a changed person to
every policy (matching), and 免申即享 grants paid once confirmed (grants).
"""

from locales import N_
from miniprograms.contract import Cron, MiniProgram, ProblemType
from miniprograms.policy_push import card, demo, matching, routes
from miniprograms.policy_push.upstream import UPSTREAM
from notifications.templates import Template

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
        "policy_for_enterprises": ProblemType(
            422,
            N_("This policy is for enterprises"),
            N_("Ask on behalf of an enterprise you administer."),
        ),
        "policy_for_residents": ProblemType(
            422, N_("This policy is for residents"), N_("Only residents can qualify for it.")
        ),
        "policy_no_rule": ProblemType(
            409,
            N_("Conditions not machine-readable"),
            N_("This policy has no eligibility rule to check. Read who qualifies in its text."),
        ),
        "policy_declaration_empty": ProblemType(
            422,
            N_("Nothing to record"),
            N_(
                "Residents may state their disability level; enterprises their high-tech certificate. Nothing else was given."
            ),
        ),
        "policy_refresh_too_soon": ProblemType(
            429,
            N_("Just refreshed"),
            N_("Your facts were fetched a moment ago. Try again in {seconds} seconds."),
        ),
        "grant_withdrawn": ProblemType(
            409,
            N_("Benefit no longer offered"),
            N_("Your situation changed and you no longer qualify for this benefit."),
        ),
    },
    scopes={
        "view_policy_matches": N_("See which policies I qualify for"),
        "update_policy_profile": N_("Update my facts and choices for policy matching"),
        "confirm_policy_grants": N_("Confirm benefits granted to me"),
    },
    templates={
        "match": Template(
            title=N_("A policy for you"),
            body=N_("You may qualify for “{title}”. Open it to see why."),
            elderly_title=N_("A benefit for you"),
            elderly_body=N_("You may qualify for “{title}”. Ask your family or call 12345."),
        ),
        "grant": Template(
            title=N_("A benefit is ready for you"),
            body=N_("You qualify for “{title}” ({amount}). Confirm in one tap to receive it."),
            elderly_title=N_("Money for you"),
            elderly_body=N_("You can receive {amount} from “{title}”. Confirm it in the app."),
        ),
    },
    upstreams=(UPSTREAM,),
    core_upstreams=("population", "enterprise"),
    jobs=(matching.match_policy, matching.daily),
    cron=(Cron(matching.daily, cron="5 0 * * *", timeout_s=3600),),
    on_startup=matching.catch_up_at_start,
    order=25,  # after the accounts people check most, before anything added later
    models_module="miniprograms.policy_push.models",
    migrations_module="miniprograms.policy_push.migrations",
    demo=demo.seed,
)
