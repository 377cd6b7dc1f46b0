"""One engagement's revenue contract: recognized, billed, cost, its postings (DESIGN.md §3)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from mesh.errors import InvalidArgument
from mesh.money import Money, total
from services.revenue.domain import journal, recognition
from services.revenue.domain.accounts import Account
from services.revenue.domain.facts import (
    BillingModel,
    EngagementCompleted,
    ExpenseApproved,
    Fact,
    InvoiceIssued,
    InvoiceVoided,
    MilestoneCompleted,
    PaymentRecorded,
    RatedTime,
    Terms,
    TimeApproved,
)
from services.revenue.domain.journal import EntryKind, JournalEntry, Line
from services.revenue.domain.periods import Ledger
from services.revenue.domain.position import Position, percent


@dataclass(frozen=True)
class AppliedFact:
    """A business key applied to the contract, with the cost it added on its service date."""

    key: str
    service_date: dt.date
    cost: Money


@dataclass(frozen=True)
class Posted:
    """A journal entry, and the contract's version and position right after it."""

    entry: JournalEntry
    version: int
    position: Position


@dataclass
class Outcome:
    applied: list[AppliedFact] = field(default_factory=list)
    postings: list[Posted] = field(default_factory=list)


@dataclass
class RevenueContract:
    terms: Terms
    recognized: Money
    recognized_fee: Money  # the part earned against the contract value (all but expenses)
    billed: Money  # invoiced excluding tax, net of credit notes
    cost: Money
    # The two contract accounts. Recognition and billing split by these balances, which keeps
    # them at max(0, recognized - billed) and max(0, billed - recognized).
    unbilled_receivable: Money
    deferred_revenue: Money
    approved_hours: Decimal = Decimal(0)
    completed_on: dt.date | None = None
    version: int = 1  # +1 per journal entry; a fact that posts nothing counts once
    updated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def set_up(cls, terms: Terms) -> RevenueContract:
        zero = Money.zero(terms.currency)
        return cls(terms, zero, zero, zero, zero, zero, zero)

    @property
    def engagement_id(self) -> uuid.UUID:
        return self.terms.engagement_id

    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def percent_complete(self) -> Decimal | None:
        model = self.terms.billing_model
        if model is BillingModel.FIXED_FEE:
            if self.completed_on is not None:
                return Decimal("100.00")
            hours, budget = self.approved_hours, self.terms.budget_hours
            return percent(recognition.percent_complete(hours, budget), Decimal(1))
        if model is BillingModel.MILESTONE:
            return percent(self.recognized_fee.amount, self.terms.contract_value.amount)
        return None

    def position(self) -> Position:
        return Position(
            engagement_id=self.engagement_id,
            legal_entity=self.terms.legal_entity,
            currency=self.currency,
            billing_model=self.terms.billing_model,
            contract_value=self.terms.contract_value,
            percent_complete=self.percent_complete,
            recognized=self.recognized,
            recognized_fee=self.recognized_fee,
            billed=self.billed,
            cost=self.cost,
            version=self.version,
            updated_at=self.updated_at,
        )

    def apply(self, fact: Fact, unseen: set[str], ledger: Ledger) -> Outcome:
        """Applies the parts of a fact whose business keys are `unseen` (not applied before)."""
        outcome = Outcome()
        if isinstance(fact, InvoiceIssued | InvoiceVoided | PaymentRecorded):
            self._bill(fact, ledger, outcome)
        else:
            entries = self._deliver(fact, unseen, outcome)
            p = recognition.Progress(self.approved_hours, self.completed_on, self.recognized_fee)
            for found in recognition.earned(self.terms, p, fact, entries):
                if found.amount.amount:  # zero posts nothing; less takes revenue back (§9)
                    lines = journal.recognition_lines(
                        found.amount, self.deferred_revenue, self.unbilled_receivable
                    )
                    if found.basis is not journal.Basis.EXPENSE:
                        self.recognized_fee += found.amount
                    self._book(
                        fact,
                        ledger,
                        outcome,
                        EntryKind.RECOGNITION,
                        lines,
                        found.description,
                        found.service_date,
                        basis=found.basis,
                        source_ids=found.source_ids,
                    )
        # Keys without a cost of their own (documents, milestones, completion) are kept too.
        recorded = {a.key for a in outcome.applied}
        zero = Money.zero(self.currency)
        outcome.applied += [AppliedFact(k, fact.service_date, zero) for k in unseen - recorded]
        if outcome.applied and not outcome.postings:
            self._touch()
        return outcome

    def _deliver(self, fact: Fact, unseen: set[str], outcome: Outcome) -> list[RatedTime]:
        """Counts what was delivered (hours, cost, completion); the new time entries."""
        entries: list[RatedTime] = []
        match fact:
            case TimeApproved():
                # An entry repeated within one event still counts once.
                entries = list({e.key: e for e in fact.entries if e.key in unseen}.values())
                costs = [recognition.hours_cost(e, self.currency) for e in entries]
                outcome.applied += [
                    AppliedFact(e.key, e.service_date, c)
                    for e, c in zip(entries, costs, strict=True)
                ]
                self.cost += total(costs, self.currency)
                # Our own sum of distinct approved entries: order-free, each entry counts once.
                self.approved_hours += sum((e.hours for e in entries), Decimal(0))
            case ExpenseApproved():
                self._check(("amount", fact.amount))
                outcome.applied.append(AppliedFact(fact.keys[0], fact.service_date, fact.amount))
                self.cost += fact.amount
            case MilestoneCompleted():
                self._check(("amount", fact.amount))
            case EngagementCompleted():
                self.completed_on = fact.completed_on
        return entries

    def _bill(
        self,
        fact: InvoiceIssued | InvoiceVoided | PaymentRecorded,
        ledger: Ledger,
        outcome: Outcome,
    ) -> None:
        match fact:
            case InvoiceIssued():
                self._check(("subtotal", fact.subtotal), ("tax", fact.tax))
                kind, description = EntryKind.INVOICE, f"Invoice {fact.number}"
                lines = journal.invoice_lines(fact.subtotal, fact.tax, self.unbilled_receivable)
            case InvoiceVoided():
                self._check(("subtotal", fact.subtotal), ("tax", fact.tax))
                kind = EntryKind.CREDIT_NOTE
                description = f"Credit note {fact.credit_note_number} voids {fact.number}"
                lines = journal.credit_note_lines(fact.subtotal, fact.tax, self.deferred_revenue)
            case PaymentRecorded():
                self._check(("amount", fact.amount))
                kind, description = EntryKind.PAYMENT, f"Payment {fact.reference}"
                lines = journal.payment_lines(fact.amount)
        if lines:  # a zero invoice moves nothing
            self._book(
                fact,
                ledger,
                outcome,
                kind,
                lines,
                description,
                fact.service_date,
                source_ids=(str(fact.invoice_id),),
            )

    def _book(
        self,
        fact: Fact,
        ledger: Ledger,
        outcome: Outcome,
        kind: EntryKind,
        lines: tuple[Line, ...],
        description: str,
        service_date: dt.date,
        *,
        basis: journal.Basis | None = None,
        source_ids: tuple[str, ...] = (),
    ) -> None:
        """Posts one entry and moves the balances by its lines."""
        entry = JournalEntry(
            legal_entity=self.terms.legal_entity,
            engagement_id=self.engagement_id,
            kind=kind,
            description=description,
            service_date=service_date,
            posting_date=ledger.posting_date(service_date),
            currency=self.currency,
            lines=lines,
            source_event_id=fact.event_id,
            basis=basis,
            source_ids=source_ids,
        )
        self.recognized += entry.recognized
        self.billed += entry.billed
        self.unbilled_receivable += entry.net(Account.UNBILLED_RECEIVABLE)
        self.deferred_revenue -= entry.net(Account.DEFERRED_REVENUE)
        assert min(self.unbilled_receivable.amount, self.deferred_revenue.amount) == 0
        assert self.unbilled_receivable - self.deferred_revenue == self.recognized - self.billed
        self._touch()
        outcome.postings.append(Posted(entry, self.version, self.position()))

    def _touch(self) -> None:
        self.version += 1
        self.updated_at = dt.datetime.now(dt.UTC)

    def _check(self, *amounts: tuple[str, Money]) -> None:
        for name, amount in amounts:
            if amount.currency != self.currency:
                raise InvalidArgument.one(
                    f"{name}.currency_code", f"{amount.currency} on a {self.currency} engagement"
                )
