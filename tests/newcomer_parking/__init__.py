"""停车 (parking): a newcomer's throwaway mini-program, written from the README alone.

Its own upstream ``city_parking`` (client + sandbox handler), one route, a card, a scope,
a problem, a setting and a job. ``variants.py`` holds deliberately broken declarations
that tests/test_newcomer_parking.py installs to probe the contract.
"""

from pathlib import Path

from locales import N_
from miniprograms.contract import Cron, MiniProgram, ProblemType
from tests.newcomer_parking import card, jobs, routes, settings, upstream

PROGRAM = MiniProgram(
    slug="newcomer_parking",
    title=N_("Parking"),
    router=routes.router,
    card=card.card,
    scopes={"view_parking_permits": N_("See my parking permits")},
    problems={
        "parking_permit_missing": ProblemType(
            404, N_("No parking permit"), N_("You have no parking permit. Apply at {office}.")
        )
    },
    order=40,
    dependencies={"parking": upstream.provide_parking},
    upstreams=(upstream.UPSTREAM,),
    jobs=(jobs.remind_expiring,),
    cron=(Cron(jobs.remind_expiring, cron="30 7 * * *"),),
    settings=settings.ParkingSettings,
    # zh_Hans and en only: zh_Hant is left out on purpose (see the tests).
    catalogs=str(Path(__file__).parent / "locales"),
)
