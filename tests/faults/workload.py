"""The delivery side of the workload: won deals, time submitted and approved in batches across
many engagements (one time_entry.approved event per engagement per call), expenses,
milestones, completions and the odd customer merge, all over the services' gRPC APIs."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.grpc.convert import date_to_proto, money_to_proto
from mesh.money import Money
from tests.faults.cluster import Platform
from tests.faults.rpc import Caller
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.customer.v1 import customer_service_pb2_grpc as customer_grpc
from weftwork.project.v1 import project_service_pb2 as pb
from weftwork.project.v1 import project_service_pb2_grpc as project_grpc

ENTITIES = {"US01": ("USD", "US"), "UK01": ("GBP", "GB"), "DE01": ("EUR", "DE")}
ROLES = [("Consultant", "150.00"), ("Senior Consultant", "212.50"), ("Partner", "333.33")]
COST = {"Consultant": "80.00", "Senior Consultant": "110.00", "Partner": "175.25"}
FIRST_DAY, LAST_DAY = dt.date(2025, 1, 1), dt.date(2026, 12, 31)
TM, FIXED, MILESTONE = (
    pb.BILLING_MODEL_TIME_AND_MATERIALS,
    pb.BILLING_MODEL_FIXED_FEE,
    pb.BILLING_MODEL_MILESTONE,
)
MODELS = [TM, TM, TM, FIXED, MILESTONE]
PEOPLE = 40
ACTIVE_ENGAGEMENTS = 60
ENGAGEMENTS_PER_CALL = 20


def key() -> str:
    return str(uuid.uuid4())


@dataclass
class Engagement:
    id: str
    model: int
    currency: str
    country: str
    start: dt.date
    end: dt.date
    customer_id: str
    milestones: list[str] = field(default_factory=list)  # still PLANNED
    approvals: int = 0


@dataclass
class Delivery:
    """Runs delivery rounds; `money_events` counts the money events the calls produced."""

    platform: Platform
    rng: random.Random
    call: Caller
    money_events: Counter[str] = field(default_factory=Counter)
    active: list[Engagement] = field(default_factory=list)
    rounds: int = 0
    _accounts: list[tuple[pb.OpportunityAccount, str]] = field(default_factory=list)
    _merged: set[str] = field(default_factory=set)
    _survivors: set[str] = field(default_factory=set)
    _booked: dict[tuple[str, dt.date], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )
    _serial: int = 0

    def __post_init__(self) -> None:
        self.project = project_grpc.ProjectServiceStub(self.platform.channel("project"))
        self.customers = customer_grpc.CustomerServiceStub(self.platform.channel("customer"))

    async def set_up(self) -> None:
        for n in range(PEOPLE):
            entity = list(ENTITIES)[n % 3]
            person = pb.Person(id=f"p-{n:03d}", name=f"Person {n:03d}", home_entity=entity)
            await self.call(
                self.project.UpsertPerson, pb.UpsertPersonRequest(person=person), what="person"
            )

    async def round(self) -> None:
        while len(self.active) < ACTIVE_ENGAGEMENTS:
            await self._win()
        chosen = self.rng.sample(self.active, ENGAGEMENTS_PER_CALL)
        entries = [self._entry(e) for e in chosen for _ in range(self.rng.randint(1, 2))]
        submitted = await self.call(
            self.project.SubmitTime,
            pb.SubmitTimeRequest(entries=entries, idempotency_key=key()),
            what="SubmitTime",
        )
        ids = [t.id for t in submitted.time_entries]
        if self.rng.random() < 0.2:  # one entry is rejected: its hours must never be billed
            await self.call(
                self.project.RejectTime,
                pb.RejectTimeRequest(ids=[ids.pop()], reason="wrong project code"),
                what="RejectTime",
            )
        await self.call(
            self.project.ApproveTime,
            pb.ApproveTimeRequest(ids=ids, idempotency_key=key()),
            what="ApproveTime",
        )
        approved = set(ids)
        engagements = {t.engagement_id for t in submitted.time_entries if t.id in approved}
        self.money_events["time approvals"] += len(engagements)
        for engagement in chosen:
            engagement.approvals += 1
        if self.rng.random() < 0.6:
            await self._complete_milestone()
        if self.rng.random() < 0.3:
            await self._expense(self.rng.choice(self.active))
        if self.rng.random() < 0.05:
            await self._complete_engagement()
        self.rounds += 1

    async def _win(self) -> None:
        """A won deal: a new account, or one seen before (the customer is resolved again)."""
        fresh = not self._accounts or self.rng.random() >= 0.3
        if not fresh:
            account, entity = self.rng.choice(self._accounts)
        else:
            self._serial += 1
            entity = self.rng.choice(list(ENTITIES))
            country = ENTITIES[entity][1] if self.rng.random() < 0.8 else "FR"
            n = self.rng.randrange(10**9)
            account = pb.OpportunityAccount(
                external_id=f"acc-{n}", name=f"Faultline {n} Ltd", country=country
            )
            self._accounts.append((account, entity))
        currency = ENTITIES[entity][0]
        model = self.rng.choice(MODELS)
        start = FIRST_DAY + dt.timedelta(days=self.rng.randrange(200))
        end = min(LAST_DAY, start + dt.timedelta(days=self.rng.randrange(300, 500)))
        amounts = [Money.of(self.rng.randrange(5_000, 40_000), currency) for _ in range(3)]
        value = sum(amounts, Money.zero(currency))
        request = pb.CreateEngagementFromOpportunityRequest(
            source="faultforce",
            opportunity_id=key(),
            account=account,
            name=f"Engagement {self._serial}",
            legal_entity=entity,
            currency=currency,
            billing_model=model,
            contract_value=money_to_proto(value if model != TM else Money.zero(currency)),
            budget_hours=str(self.rng.randrange(100, 400)) if model == FIXED else "",
            start_date=date_to_proto(start),
            end_date=date_to_proto(end),
            rate_card=[pb.RateCardLine(role=r, bill_rate=b, cost_rate=COST[r]) for r, b in ROLES],
            milestones=[]
            if model == TM
            else [
                pb.MilestoneInput(
                    name=f"Phase {i + 1}", amount=money_to_proto(a), due_date=date_to_proto(end)
                )
                for i, a in enumerate(amounts)
            ],
            expense_markup_percent=self.rng.choice(["0", "10", "12.5"]),
        )
        won = await self.call(
            self.project.CreateEngagementFromOpportunity, request, what="CreateEngagement"
        )
        e = won.engagement
        self.active.append(
            Engagement(
                e.id, model, currency, account.country, start, end, e.customer_id,
                [m.id for m in e.milestones],
            )
        )  # fmt: skip
        if fresh and len(self._accounts) % 15 == 0:
            await self._merge(account.country)

    def _entry(self, engagement: Engagement) -> pb.TimeEntryInput:
        """Time on a day of the engagement, never more than 24 h per person and day."""
        for _ in range(100):
            person = f"p-{self.rng.randrange(PEOPLE):03d}"
            day = engagement.start + dt.timedelta(
                days=self.rng.randrange((engagement.end - engagement.start).days + 1)
            )
            hours = Decimal(self.rng.randrange(1, 33)) / 4
            if self._booked[(person, day)] + hours <= 24:
                self._booked[(person, day)] += hours
                break
        else:
            raise AssertionError("no free day found for a time entry")
        self._serial += 1
        role = self.rng.choice(ROLES)[0]
        return pb.TimeEntryInput(
            engagement_id=engagement.id,
            person_id=person,
            role=role,
            date=date_to_proto(day),
            hours=str(hours),
            billable=self.rng.random() < 0.9,
            description="delivery",
            external_id=f"te-{self._serial}",
        )

    async def _complete_milestone(self) -> None:
        planned = [e for e in self.active if e.milestones]
        if not planned:
            return
        engagement = self.rng.choice(planned)
        await self.call(
            self.project.CompleteMilestone,
            pb.CompleteMilestoneRequest(
                id=engagement.milestones.pop(0),
                completed_on=date_to_proto(engagement.end),
                idempotency_key=key(),
            ),
            what="CompleteMilestone",
        )
        self.money_events["milestones"] += 1

    async def _expense(self, engagement: Engagement) -> None:
        self._serial += 1
        amount = Money.of(Decimal(self.rng.randrange(1_000, 50_000)) / 100, engagement.currency)
        submitted = await self.call(
            self.project.SubmitExpense,
            pb.SubmitExpenseRequest(
                engagement_id=engagement.id,
                person_id=f"p-{self.rng.randrange(PEOPLE):03d}",
                date=date_to_proto(engagement.start),
                amount=money_to_proto(amount),
                category=self.rng.choice(["travel", "lodging", "software"]),
                billable=self.rng.random() < 0.8,
                description="on site",
                external_id=f"ex-{self._serial}",
                idempotency_key=key(),
            ),
            what="SubmitExpense",
        )
        await self.call(
            self.project.ApproveExpenses,
            pb.ApproveExpensesRequest(ids=[submitted.expense.id], idempotency_key=key()),
            what="ApproveExpenses",
        )
        self.money_events["expenses"] += 1

    async def _complete_engagement(self) -> None:
        """A fixed-fee engagement that had some time: completion recognizes the rest."""
        done = [e for e in self.active if e.model == FIXED and e.approvals >= 3]
        if not done:
            return
        engagement = self.rng.choice(done)
        await self.call(
            self.project.CompleteEngagement,
            pb.CompleteEngagementRequest(
                id=engagement.id, completed_on=date_to_proto(engagement.end), idempotency_key=key()
            ),
            what="CompleteEngagement",
        )
        self.active.remove(engagement)
        self.money_events["engagement completions"] += 1

    async def _merge(self, country: str) -> None:
        """Two customers of one country found to be the same firm (exercises customer.merged)."""
        free = {
            e.customer_id
            for e in self.active
            if e.country == country and e.customer_id not in self._merged | self._survivors
        }
        if len(free) < 2:
            return
        survivor, merged = self.rng.sample(sorted(free), 2)
        await self.call(
            self.customers.MergeCustomers,
            customer_pb.MergeCustomersRequest(survivor_id=survivor, merged_id=merged),
            what="MergeCustomers",
        )
        self._survivors.add(survivor)
        self._merged.add(merged)
