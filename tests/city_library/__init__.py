"""市图书馆 (city library): a throwaway mini-program that lives only in the tests.

It proves the contract: everything it brings (an upstream client and its sandbox handler,
a job and its schedule, settings, a problem, a delegation scope, a home card, its own
catalogs, start-up and shutdown hooks) is declared here, and app_api mounts all of it
with no edit outside this folder. The README's "Writing a mini-program" is taken from it.
"""

from pathlib import Path

from locales import N_
from miniprograms.contract import Cron, MiniProgram, ProblemType
from notifications.templates import Template
from tests.city_library import card, jobs, routes, settings, upstream

PROGRAM = MiniProgram(
    slug="city_library",
    title=N_("City library"),
    router=routes.router,
    card=card.card,
    scopes={"view_library_loans": N_("See my library loans")},
    problems={
        "library_card_missing": ProblemType(
            404, N_("No library card"), N_("You have no library card yet. Ask at {branch}.")
        )
    },
    order=30,
    dependencies={"library": upstream.provide_library},
    upstreams=(upstream.UPSTREAM,),
    jobs=(jobs.publish_opening_hours, jobs.remind_due_loans),
    cron=(Cron(jobs.publish_opening_hours, cron="0 6 * * *"),),
    settings=settings.LibrarySettings,
    on_startup=jobs.started,
    on_shutdown=jobs.stopped,
    demo=jobs.demo,
    catalogs=str(Path(__file__).parent / "locales"),
    templates={
        "loan_due": Template(
            title=N_("Books due soon"), body=N_("{count} of your books are due on {due}.")
        )
    },
)
