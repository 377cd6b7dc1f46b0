"""Properties of the books over random histories of PROJECT and BILLING events (in memory)."""

from __future__ import annotations

import datetime as dt
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesh.money import Money, total
from services.revenue import handlers
from services.revenue.domain.accounts import Account
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.journal import Basis
from services.revenue.domain.periods import Period
from tests.unit.revenue_fakes import (
    Close,
    Delivery,
    Engagement,
    FakeRevenueBooks,
    random_history,
    run,
)

EXAMPLES = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Month ends of the histories' span, and some days in between.
DATES = [Period(2025, m).last_day for m in range(1, 8)] + [
    dt.date(2024, 12, 31),
    dt.date(2025, 2, 1),
    dt.date(2025, 3, 15),
]


def fee_recognized(books: FakeRevenueBooks, e: Engagement) -> Money:
    return total(
        (
            x.recognized
            for x in books.entries
            if x.engagement_id == e.id and x.basis not in (None, Basis.EXPENSE)
        ),
        e.currency,
    )


async def assert_books_hold(books: FakeRevenueBooks, engagements: list[Engagement]) -> None:
    for entry in books.entries:  # every journal entry balances
        assert total((ln.debit for ln in entry.lines), entry.currency) == total(
            (ln.credit for ln in entry.lines), entry.currency
        )
    for entry, closed_through in books.posted:  # nothing was posted into a closed period
        assert closed_through is None or entry.period > closed_through, entry
    for e in engagements:
        p = await handlers.get_position(books, e.id)
        mine = [x for x in books.entries if x.engagement_id == e.id]
        unbilled = total((x.net(Account.UNBILLED_RECEIVABLE) for x in mine), e.currency)
        deferred = -total((x.net(Account.DEFERRED_REVENUE) for x in mine), e.currency)
        assert unbilled - deferred == p.recognized - p.billed
        assert (unbilled, deferred) == (p.unbilled_receivable, p.deferred_revenue)
        assert p.recognized == total((x.recognized for x in mine), e.currency)
    for entity in {e.entity for e in engagements}:
        for as_of in DATES:  # trial balance sums to zero at every date tested
            for book in await handlers.trial_balance(books, entity, as_of):
                assert total((a.balance for a in book.accounts), book.currency).amount == 0


def snapshot(books: FakeRevenueBooks) -> object:
    """Balances and the journal, without generated ids and clocks."""
    positions = {
        i: (c.recognized, c.recognized_fee, c.billed, c.cost, c.unbilled_receivable,
            c.deferred_revenue, c.approved_hours, c.completed_on, c.version)
        for i, c in books.rows.items()
    }  # fmt: skip
    journal = [
        (x.engagement_id, x.kind, x.basis, x.service_date, x.posting_date, x.lines, x.source_ids)
        for x in books.entries
    ]
    return positions, journal


@EXAMPLES
@given(rng=st.randoms(use_true_random=False))
async def test_books_balance_fixed_fees_stay_capped_and_a_replay_is_identical(
    rng: random.Random,
) -> None:
    engagements, history = random_history(rng)
    books = FakeRevenueBooks()
    activated: set[object] = set()
    for step in history:
        await run(books, [step])
        if isinstance(step, Delivery) and step.subject.endswith("engagement.activated.v1"):
            activated.add(step.message.engagement_id)  # type: ignore[attr-defined]
        for e in engagements:
            if e.model is BillingModel.FIXED_FEE and str(e.id) in activated:
                value = Money.of(e.contract_value, e.currency)
                fee = fee_recognized(books, e)
                assert fee.amount <= value.amount
                contract = await books.contract(e.id)
                assert contract is not None
                if contract.completed_on is not None:
                    assert fee == value
    assert not books.parked  # every early event was applied once its engagement arrived
    await assert_books_hold(books, engagements)
    # Replaying the same history into empty books gives identical books.
    replayed = FakeRevenueBooks()
    await run(replayed, history)
    assert snapshot(replayed) == snapshot(books)


@EXAMPLES
@given(rng=st.randoms(use_true_random=False), order=st.randoms(use_true_random=False))
async def test_any_delivery_order_ends_in_the_same_position(
    rng: random.Random, order: random.Random
) -> None:
    # Without period closes (which rightly move later postings), order changes only how
    # postings are split, never where the contract ends up.
    engagements, history = random_history(rng)
    history = [s for s in history if not isinstance(s, Close)]
    shuffled = order.sample(history, k=len(history))
    straight, scrambled = FakeRevenueBooks(), FakeRevenueBooks()
    await run(straight, history)
    await run(scrambled, shuffled)
    for e in engagements:
        a = await handlers.get_position(straight, e.id)
        b = await handlers.get_position(scrambled, e.id)
        assert (a.recognized, a.billed, a.cost, a.unbilled_receivable, a.deferred_revenue) == (
            b.recognized, b.billed, b.cost, b.unbilled_receivable, b.deferred_revenue
        )  # fmt: skip
    await assert_books_hold(scrambled, engagements)


def test_histories_cover_every_kind_of_step() -> None:
    """The generator is worth its properties only if it produces every kind of step."""
    subjects: set[str] = set()
    closes = 0
    for seed in range(40):
        _, history = random_history(random.Random(seed))
        subjects |= {s.subject for s in history if isinstance(s, Delivery)}
        closes += sum(isinstance(s, Close) for s in history)
    assert len(subjects) == 8 and closes > 0
