"""The library's logic: plain functions over the client's Protocol."""

from __future__ import annotations

from integrations.provincial import UpstreamRejected
from miniprograms.common import id_number_of, upstream
from miniprograms.contract import AuditHook, Problem, Subject, day
from tests.city_library.schemas import LoanOut, LoansOut
from tests.city_library.upstream import LibraryUpstream, Loans


async def loans_of(
    library: LibraryUpstream, subject: Subject, audit: AuditHook, branch: str
) -> Loans:
    """The subject's loans; ``library_card_missing`` (naming ``branch``) without a card."""
    try:
        fetched = await upstream(
            library.loans(id_number_of(subject), audit=audit, purpose="library.loans")
        )
    except UpstreamRejected:
        raise Problem("library_card_missing", branch=branch) from None
    return fetched.data


def loans_out(loans: Loans, renewal_days: int) -> LoansOut:
    return LoansOut(
        loans=[LoanOut(title=loan.title, due=day(loan.due_on)) for loan in loans.items],
        renewal_days=renewal_days,
    )
