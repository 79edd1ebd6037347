from __future__ import annotations

import datetime as dt

import pytest

from domain.errors import InvalidTransition, RuleViolation, ValidationFailed
from domain.planning import Move, Proposal, ProposalStatus, Unassigned
from tests.unit.factories import NOW


def proposal() -> Proposal:
    moves = (
        Move("wo-1", None, "tech-1", 0, NOW, ("closest",), 1),
        Move("wo-2", "tech-2", "tech-1", 1, NOW, ("frees tech-2",), 3),
    )
    return Proposal(
        scope="store:store-1", moves=moves,
        unassigned=(Unassigned("wo-3", "no_skill", "nobody holds 'gas'"),),
        kpis_before={"drive_km": 10.0}, kpis_after={"drive_km": 8.0}, created_at=NOW,
        created_by="user-1", expires_at=NOW + dt.timedelta(minutes=10),
    )


def test_confirming_a_subset_marks_the_proposal_partially_confirmed() -> None:
    p = proposal()
    chosen = p.select(["wo-2"])
    p.confirm(chosen, NOW)
    assert p.status == ProposalStatus.PARTIALLY_CONFIRMED
    assert p.confirmed_moves == ("wo-2",)
    assert p.events[-1].name == "ProposalConfirmed"


def test_confirming_everything_marks_it_confirmed() -> None:
    p = proposal()
    p.confirm(p.select(None), NOW)
    assert p.status == ProposalStatus.CONFIRMED


def test_a_move_that_is_not_in_the_proposal_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="wo-9"):
        proposal().select(["wo-9"])
    with pytest.raises(ValidationFailed):
        proposal().select([])


def test_an_expired_or_decided_proposal_cannot_be_confirmed() -> None:
    p = proposal()
    with pytest.raises(RuleViolation) as caught:
        p.confirm(p.select(None), NOW + dt.timedelta(hours=1))
    assert caught.value.code == "proposal_expired"
    p.reject("not now", NOW)
    with pytest.raises(InvalidTransition):
        p.confirm(p.select(None), NOW)
    with pytest.raises(InvalidTransition):
        p.expire("state changed")
