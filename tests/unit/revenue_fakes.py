"""In-memory revenue books, PROJECT/BILLING event builders, and random event histories."""

from __future__ import annotations

import copy
import datetime as dt
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from google.protobuf.message import Message
from google.type import money_pb2

from mesh.grpc.convert import date_to_proto, money_to_proto, timestamp_to_proto
from mesh.money import Money
from services.revenue import consumers, handlers
from services.revenue.domain.accounts import Account
from services.revenue.domain.contract import Outcome, RevenueContract
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.journal import JournalEntry
from services.revenue.domain.periods import Ledger, Period, PeriodState, PeriodStatus
from weftwork.billing.v1 import events_pb2 as billing
from weftwork.project.v1 import events_pb2 as project
from weftwork.project.v1 import project_service_pb2 as project_pb

# Periods are closed "now": any month before 2030 has ended.
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


class FakeRevenueBooks:
    """The RevenueRepository in memory; remembers what each posting saw as closed."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, RevenueContract] = {}
        self.ledgers: dict[str, Ledger] = {}
        self.periods: dict[tuple[str, Period], PeriodState] = {}
        self.applied: dict[uuid.UUID, set[str]] = {}
        self.posted: list[tuple[JournalEntry, Period | None]] = []  # (entry, closed through)
        self.parked: list[handlers.ParkedEvent] = []
        self.events: list[handlers.RevenueEvent] = []

    @property
    def entries(self) -> list[JournalEntry]:
        return [entry for entry, _ in self.posted]

    async def lock_engagement(self, engagement_id: uuid.UUID) -> None:
        return None

    async def contract(self, engagement_id: uuid.UUID) -> RevenueContract | None:
        return copy.copy(self.rows.get(engagement_id))

    async def contracts(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RevenueContract]:
        return {i: copy.copy(self.rows[i]) for i in ids if i in self.rows}

    async def contract_for_posting(
        self, engagement_id: uuid.UUID, keys: Sequence[str]
    ) -> tuple[RevenueContract, Ledger, set[str]] | None:
        row = self.rows.get(engagement_id)
        if row is None:
            return None
        unseen = set(keys) - self.applied[engagement_id]
        return copy.copy(row), self.ledgers[row.terms.legal_entity], unseen

    async def add_contract(self, contract: RevenueContract) -> None:
        entity = contract.terms.legal_entity
        self.ledgers.setdefault(entity, Ledger(entity))
        self.rows[contract.engagement_id] = copy.copy(contract)
        self.applied[contract.engagement_id] = set()

    async def save_terms(self, contract: RevenueContract) -> None:
        contract.version += 1
        self.rows[contract.engagement_id] = copy.copy(contract)

    async def record(self, contract: RevenueContract, outcome: Outcome) -> None:
        keys = self.applied[contract.engagement_id]
        for fact in outcome.applied:
            assert fact.key not in keys, f"primary key violation: {fact.key}"
            keys.add(fact.key)
        for posted in outcome.postings:
            entry = posted.entry
            self.posted.append((entry, self.ledgers[entry.legal_entity].closed_through))
            self.periods.setdefault(
                (entry.legal_entity, entry.period), PeriodState(entry.legal_entity, entry.period)
            )
        self.rows[contract.engagement_id] = copy.copy(contract)

    async def park(self, event: handlers.ParkedEvent) -> None:
        if all(p.event_id != event.event_id for p in self.parked):
            self.parked.append(event)

    async def unpark(self, engagement_id: uuid.UUID) -> list[handlers.ParkedEvent]:
        found = [p for p in self.parked if p.engagement_id == engagement_id]
        self.parked = [p for p in self.parked if p.engagement_id != engagement_id]
        return found

    async def lock_ledger(self, legal_entity: str) -> Ledger:
        return self.ledgers.setdefault(legal_entity, Ledger(legal_entity))

    async def period(self, legal_entity: str, period: Period) -> PeriodState | None:
        return copy.copy(self.periods.get((legal_entity, period)))

    async def earliest_open_period(self, legal_entity: str) -> Period | None:
        return min(
            (
                p
                for (e, p), s in self.periods.items()
                if e == legal_entity and s.status is PeriodStatus.OPEN
            ),
            default=None,
        )

    async def close(self, ledger: Ledger, state: PeriodState) -> None:
        self.ledgers[ledger.legal_entity] = ledger
        self.periods[(state.legal_entity, state.period)] = copy.copy(state)

    async def account_totals(
        self, legal_entity: str, as_of: dt.date
    ) -> list[tuple[str, Account, Decimal, Decimal]]:
        sums: dict[tuple[str, Account], tuple[Decimal, Decimal]] = {}
        for entry in self.entries:
            if entry.legal_entity == legal_entity and entry.posting_date <= as_of:
                for line in entry.lines:
                    debit, credit = sums.get((entry.currency, line.account), (Decimal(0),) * 2)
                    sums[(entry.currency, line.account)] = (
                        debit + line.debit.amount,
                        credit + line.credit.amount,
                    )
        return [(c, a, d, k) for (c, a), (d, k) in sums.items()]

    async def emit(self, events: Sequence[handlers.RevenueEvent]) -> None:
        self.events.extend(events)


# --- PROJECT and BILLING events, as their producers publish them ---------------------------

MODELS = {
    BillingModel.TIME_AND_MATERIALS: project_pb.BILLING_MODEL_TIME_AND_MATERIALS,
    BillingModel.FIXED_FEE: project_pb.BILLING_MODEL_FIXED_FEE,
    BillingModel.MILESTONE: project_pb.BILLING_MODEL_MILESTONE,
}
ACTIVATED = "weftwork.project.engagement.activated.v1"
TIME = "weftwork.project.time_entry.approved.v1"
TIME_ADJUSTED = "weftwork.project.time_entry.adjusted.v1"
AMENDED = "weftwork.project.engagement.amended.v1"
EXPENSE = "weftwork.project.expense.approved.v1"
MILESTONE = "weftwork.project.milestone.completed.v1"
COMPLETED = "weftwork.project.engagement.completed.v1"
ISSUED = "weftwork.billing.invoice.issued.v1"
VOIDED = "weftwork.billing.invoice.voided.v1"
PAID = "weftwork.billing.payment.recorded.v1"


def money(amount: str | Decimal, currency: str) -> money_pb2.Money:
    return money_to_proto(Money.of(amount, currency))


@dataclass(frozen=True)
class Engagement:
    """The terms the tests activate engagements with."""

    model: BillingModel
    currency: str = "GBP"
    entity: str = "UK01"
    contract_value: str = "0"
    budget_hours: str = "0"
    markup: str = "0"
    start: dt.date = dt.date(2025, 1, 1)
    customer_id: str = "7c0c2b43-5a5e-4a62-9d4b-2f6f3c1f0a11"
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def activated(self) -> tuple[str, Message]:
        engagement = project_pb.Engagement(
            id=str(self.id),
            code=f"PRJ-{self.entity}-2025-{self.id.int % 10_000:04d}",
            name=f"{self.model.value.title()} engagement",
            legal_entity=self.entity,
            currency=self.currency,
            billing_model=MODELS[self.model],
            customer_id=self.customer_id,
            contract_value=money(self.contract_value, self.currency),
            start_date=date_to_proto(self.start),
            end_date=date_to_proto(self.start + dt.timedelta(days=365)),
            budget_hours=self.budget_hours,
            expense_markup_percent=self.markup,
            version=1,
            create_time=timestamp_to_proto(dt.datetime(2024, 12, 20, tzinfo=dt.UTC)),
        )
        customer = project.CustomerSnapshot(customer_id=self.customer_id, name="Northwind Ltd")
        return ACTIVATED, project.EngagementActivated(
            engagement_id=str(self.id), version=1, engagement=engagement, customer=customer
        )

    def time(self, *entries: tuple[str, dt.date, str, str, str, bool]) -> tuple[str, Message]:
        """Entries of (id, date, hours, bill rate, cost rate, billable)."""
        return TIME, project.TimeEntriesApproved(
            engagement_id=str(self.id),
            version=2,
            entries=[
                project.RatedTimeEntry(
                    time_entry_id=i,
                    date=date_to_proto(d),
                    hours=h,
                    bill_rate=b,
                    cost_rate=c,
                    billable=billable,
                    person_id="p-1",
                    role="Consultant",
                )
                for i, d, h, b, c, billable in entries
            ],
        )

    def adjusted(
        self,
        original: tuple[str, dt.date, str, str, str, bool],
        reversal_id: str,
        replacement_id: str,
        hours: str,
    ) -> tuple[str, Message]:
        """time_entry.adjusted of an approved entry (id, date, hours, bill, cost, billable)."""
        i, d, h, b, c, billable = original

        def rated(entry_id: str, entry_hours: str) -> project.RatedTimeEntry:
            return project.RatedTimeEntry(
                time_entry_id=entry_id, date=date_to_proto(d), hours=entry_hours, bill_rate=b,
                cost_rate=c, billable=billable, person_id="p-1", role="Consultant",
            )  # fmt: skip

        return TIME_ADJUSTED, project.TimeEntryAdjusted(
            engagement_id=str(self.id),
            version=9,
            original_time_entry_id=i,
            reversal=rated(reversal_id, f"-{h}"),
            replacement=rated(replacement_id, hours),
            reason="corrected",
        )

    def amended(
        self, terms_version: int, effective: dt.date, contract_value: str, budget_hours: str
    ) -> tuple[str, Message]:
        """engagement.amended to these terms (the rest as activated)."""
        _, activated = self.activated()
        assert isinstance(activated, project.EngagementActivated)
        engagement = activated.engagement
        engagement.contract_value.CopyFrom(money(contract_value, self.currency))
        engagement.budget_hours, engagement.terms_version = budget_hours, terms_version
        amendment = project_pb.EngagementAmendment(
            version=terms_version, effective_date=date_to_proto(effective), reason="CR",
            contract_value=money(contract_value, self.currency), budget_hours=budget_hours,
        )  # fmt: skip
        return AMENDED, project.EngagementAmended(
            engagement_id=str(self.id), version=8, engagement=engagement, amendment=amendment
        )

    def expense(
        self, expense_id: str, day: dt.date, amount: str, *, billable: bool = True
    ) -> tuple[str, Message]:
        return EXPENSE, project.ExpenseApproved(
            engagement_id=str(self.id),
            version=3,
            expense_id=expense_id,
            date=date_to_proto(day),
            category="Travel",
            amount=money(amount, self.currency),
            markup_percent=self.markup,
            billable=billable,
        )

    def milestone(self, milestone_id: str, day: dt.date, amount: str) -> tuple[str, Message]:
        return MILESTONE, project.MilestoneCompleted(
            engagement_id=str(self.id),
            version=4,
            milestone_id=milestone_id,
            name=f"Milestone {milestone_id}",
            amount=money(amount, self.currency),
            completed_on=date_to_proto(day),
            billing_model=MODELS[self.model],
        )

    def completed(self, day: dt.date) -> tuple[str, Message]:
        return COMPLETED, project.EngagementCompleted(
            engagement_id=str(self.id), version=5, completed_on=date_to_proto(day)
        )

    def invoice_number(self, invoice_id: uuid.UUID) -> str:
        return f"{self.entity}-2025-{invoice_id.int % 999_999:06d}"

    def issued(
        self, invoice_id: uuid.UUID, day: dt.date, subtotal: str, tax: str = "0"
    ) -> tuple[str, Message]:
        total = Money.of(subtotal, self.currency) + Money.of(tax, self.currency)
        return ISSUED, billing.InvoiceIssued(
            invoice_id=str(invoice_id),
            version=2,
            number=self.invoice_number(invoice_id),
            engagement_id=str(self.id),
            customer_id=self.customer_id,
            legal_entity=self.entity,
            currency=self.currency,
            issue_date=date_to_proto(day),
            subtotal=money(subtotal, self.currency),
            tax=money(tax, self.currency),
            total=money_to_proto(total),
        )

    def voided(
        self, invoice_id: uuid.UUID, day: dt.date, subtotal: str, tax: str = "0"
    ) -> tuple[str, Message]:
        total = Money.of(subtotal, self.currency) + Money.of(tax, self.currency)
        return VOIDED, billing.InvoiceVoided(
            invoice_id=str(invoice_id),
            version=3,
            number=self.invoice_number(invoice_id),
            credit_note_number=f"CN-{self.entity}-2025-000001",
            engagement_id=str(self.id),
            legal_entity=self.entity,
            voided_on=date_to_proto(day),
            subtotal=money(subtotal, self.currency),
            tax=money(tax, self.currency),
            total=money_to_proto(total),
            currency=self.currency,
        )

    def paid(
        self, invoice_id: uuid.UUID, payment_id: str, day: dt.date, amount: str
    ) -> tuple[str, Message]:
        return PAID, billing.PaymentRecorded(
            invoice_id=str(invoice_id),
            version=4,
            payment_id=payment_id,
            engagement_id=str(self.id),
            legal_entity=self.entity,
            amount=money(amount, self.currency),
            received_on=date_to_proto(day),
            reference=f"BACS {payment_id}",
            currency=self.currency,
        )


@dataclass(frozen=True)
class Delivery:
    """One delivery of an event (a redelivery repeats the event id)."""

    subject: str
    message: Message
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass(frozen=True)
class Close:
    legal_entity: str
    period: Period


Step = Delivery | Close


async def run(books: handlers.RevenueRepository, steps: Sequence[Step]) -> None:
    for step in steps:
        if isinstance(step, Close):
            await handlers.close_period(books, step.legal_entity, step.period, now=NOW)
        else:
            await consumers.receive(books, step.subject, step.message, step.event_id)


# --- random histories, as the producers could emit them -------------------------------------

_KINDS = [("GBP", "UK01", "20"), ("USD", "US01", "0"), ("JPY", "UK01", "20"), ("KWD", "US01", "0")]
_FIRST_DAY = dt.date(2025, 1, 1)
_LAST_PERIOD = Period(2025, 6)


def _amount(rng: random.Random, currency: str, low: int, high: int) -> Money:
    exponent = Money.of(0, currency).amount.as_tuple().exponent
    assert isinstance(exponent, int)
    scale = 10**-exponent
    return Money.of(Decimal(rng.randint(low * scale, high * scale)) / scale, currency)


@dataclass
class _Invoice:
    engagement: Engagement
    subtotal: Money
    tax: Money
    paid: Money
    voided: bool = False


def random_history(rng: random.Random, *, steps: int = 40) -> tuple[list[Engagement], list[Step]]:
    """A few engagements of every billing model and currency, and a random interleaving of
    approvals, milestones, completions, invoices, voids, payments, period closes and
    redeliveries; some activations arrive after their engagement's first events."""
    # Ids are counted, not random, so a history is a function of the generator's draws.
    counter = iter(range(1, 1_000_000))

    def next_id() -> uuid.UUID:
        return uuid.UUID(int=next(counter) << 64, version=4)

    engagements = []
    for model in rng.sample(list(BillingModel), k=rng.randint(1, 3)):
        currency, entity, _ = rng.choice(_KINDS)
        value = _amount(rng, currency, 1_000, 50_000)
        engagements.append(
            Engagement(
                model, currency, entity, contract_value=str(value.amount),
                budget_hours=str(rng.choice([8, 40, 90, 250])), markup=rng.choice(["0", "12.5"]),
                id=next_id(),
            )
        )  # fmt: skip
    tax_rate = {entity: Decimal(rate) for _, entity, rate in _KINDS}
    history: list[Step] = []
    invoices: dict[uuid.UUID, _Invoice] = {}
    milestones = {e.id: 3 for e in engagements}
    closed: dict[str, Period] = {}

    def day() -> dt.date:
        return _FIRST_DAY + dt.timedelta(days=rng.randrange(181))

    for n in range(steps):
        e = rng.choice(engagements)
        action = rng.random()
        if action < 0.3:
            entries = [
                (f"t{n}-{i}", day(), rng.choice(["0.25", "1", "3.333", "7.5", "8"]),
                 rng.choice(["95", "120.50", "199.99"]), rng.choice(["40", "55.25"]),
                 rng.random() < 0.8)
                for i in range(rng.randint(1, 3))
            ]  # fmt: skip
            history.append(Delivery(*e.time(*entries)))
        elif action < 0.4:
            amount = _amount(rng, e.currency, 1, 900)
            history.append(
                Delivery(
                    *e.expense(f"x{n}", day(), str(amount.amount), billable=rng.random() < 0.7)
                )
            )
        elif action < 0.5 and milestones[e.id]:
            # MILESTONE engagements complete three milestones that sum to the contract value.
            value, left = Money.of(e.contract_value, e.currency), milestones[e.id]
            amount = (
                value.times(Decimal(1) / 3) if left > 1 else value - value.times(Decimal(2) / 3)
            )
            milestones[e.id] -= 1
            history.append(Delivery(*e.milestone(f"m{left}", day(), str(amount.amount))))
        elif action < 0.55:
            history.append(Delivery(*e.completed(day())))
        elif action < 0.7:
            invoice_id, subtotal = next_id(), _amount(rng, e.currency, 1, 20_000)
            tax = subtotal.times(tax_rate[e.entity] / 100)
            invoices[invoice_id] = _Invoice(e, subtotal, tax, Money.zero(e.currency))
            history.append(
                Delivery(*e.issued(invoice_id, day(), str(subtotal.amount), str(tax.amount)))
            )
        elif action < 0.85 and invoices:
            invoice_id = rng.choice(sorted(invoices))
            i = invoices[invoice_id]
            due = i.subtotal + i.tax - i.paid
            if i.voided or not due.amount:
                continue
            if not i.paid.amount and rng.random() < 0.4:  # billing voids only unpaid invoices
                i.voided = True
                step = i.engagement.voided(
                    invoice_id, day(), str(i.subtotal.amount), str(i.tax.amount)
                )
            else:
                paid = due if rng.random() < 0.5 else due.times(Decimal("0.5"))
                i.paid += paid
                step = i.engagement.paid(invoice_id, f"p{n}", day(), str(paid.amount))
            history.append(Delivery(*step))
        elif action < 0.92:
            entity = e.entity
            period = closed[entity].next() if entity in closed else Period(2025, 1)
            if period <= _LAST_PERIOD:
                closed[entity] = period
                history.append(Close(entity, period))
        elif history:
            # A redelivery: the same event again, or the same facts under a new event id.
            again = rng.choice(history)
            if isinstance(again, Delivery):
                event_id = again.event_id if rng.random() < 0.5 else next_id()
                history.append(Delivery(again.subject, again.message, event_id))
    for e in engagements:
        # Mostly first; sometimes after some of its events, which then wait parked.
        at = 0 if rng.random() < 0.7 else rng.randint(0, len(history))
        history.insert(at, Delivery(*e.activated()))
    return engagements, history
