"""The double-entry journal: balanced entries and the postings of DESIGN.md §3."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field

from mesh.money import Money, total
from services.revenue.domain.accounts import Account
from services.revenue.domain.periods import Period


class UnbalancedEntry(ValueError):
    """A journal entry whose debits and credits differ: a bug, never stored."""


class EntryKind(enum.Enum):
    RECOGNITION = "RECOGNITION"
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"
    PAYMENT = "PAYMENT"


class Basis(enum.Enum):
    """What a recognition entry recognizes."""

    TIME = "TIME"
    EXPENSE = "EXPENSE"
    PERCENT_COMPLETE = "PERCENT_COMPLETE"
    COMPLETION = "COMPLETION"
    MILESTONE = "MILESTONE"


@dataclass(frozen=True)
class Line:
    account: Account
    debit: Money
    credit: Money

    @classmethod
    def dr(cls, account: Account, amount: Money) -> Line:
        return cls(account, amount, Money.zero(amount.currency))

    @classmethod
    def cr(cls, account: Account, amount: Money) -> Line:
        return cls(account, Money.zero(amount.currency), amount)

    @property
    def net(self) -> Money:
        """Debit minus credit."""
        return self.debit - self.credit


def _moving(*candidates: Line) -> tuple[Line, ...]:
    """The lines that move money: a zero split (e.g. no deferred revenue to release) is left out."""
    return tuple(line for line in candidates if line.debit.amount or line.credit.amount)


@dataclass(frozen=True)
class JournalEntry:
    legal_entity: str
    engagement_id: uuid.UUID
    kind: EntryKind
    description: str
    service_date: dt.date
    posting_date: dt.date
    currency: str
    lines: tuple[Line, ...]
    source_event_id: uuid.UUID | None = None
    basis: Basis | None = None
    source_ids: tuple[str, ...] = ()
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def __post_init__(self) -> None:
        if len(self.lines) < 2:
            raise UnbalancedEntry(f"{self.description}: an entry needs a debit and a credit")
        for line in self.lines:
            if line.debit.currency != self.currency or line.credit.currency != self.currency:
                raise UnbalancedEntry(f"{self.description}: a line is not in {self.currency}")
            if line.debit.amount < 0 or line.credit.amount < 0:
                raise UnbalancedEntry(f"{self.description}: negative {line.account.value}")
            if bool(line.debit.amount) == bool(line.credit.amount):
                raise UnbalancedEntry(
                    f"{self.description}: {line.account.value} needs exactly one of debit, credit"
                )
        debits = total((line.debit for line in self.lines), self.currency)
        credits = total((line.credit for line in self.lines), self.currency)
        if debits != credits:
            raise UnbalancedEntry(f"{self.description}: debits {debits} != credits {credits}")

    @property
    def period(self) -> Period:
        return Period.of(self.posting_date)

    def net(self, account: Account) -> Money:
        """This entry's debit minus credit on one account."""
        return total((line.net for line in self.lines if line.account is account), self.currency)

    @property
    def recognized(self) -> Money:
        """Revenue this entry recognizes (credits to revenue)."""
        return -self.net(Account.REVENUE)

    @property
    def billed(self) -> Money:
        """What this entry bills, excluding tax: an invoice's subtotal, minus a credit note's.

        Because recognized - billed = unbilled - deferred at all times, billing is what moves
        the contract accounts other than through revenue.
        """
        contract = self.net(Account.UNBILLED_RECEIVABLE) + self.net(Account.DEFERRED_REVENUE)
        return self.recognized - contract


def recognition_lines(
    amount: Money, deferred_revenue: Money, unbilled_receivable: Money
) -> tuple[Line, ...]:
    """Dr deferred revenue (up to its balance), Dr unbilled receivable (the rest) / Cr revenue.
    A negative amount (a correction lowered what was delivered) takes revenue back: Dr revenue
    / Cr unbilled receivable (up to its balance), Cr deferred revenue (the rest), so neither
    contract account goes negative."""
    if amount.amount < 0:
        back = -amount
        reduced = min(back, unbilled_receivable, key=lambda m: m.amount)
        return _moving(
            Line.dr(Account.REVENUE, back),
            Line.cr(Account.UNBILLED_RECEIVABLE, reduced),
            Line.cr(Account.DEFERRED_REVENUE, back - reduced),
        )
    released = min(amount, deferred_revenue, key=lambda m: m.amount)
    return _moving(
        Line.dr(Account.DEFERRED_REVENUE, released),
        Line.dr(Account.UNBILLED_RECEIVABLE, amount - released),
        Line.cr(Account.REVENUE, amount),
    )


def invoice_lines(subtotal: Money, tax: Money, unbilled_receivable: Money) -> tuple[Line, ...]:
    """Dr receivables (total) / Cr unbilled (up to its balance), Cr deferred (rest), Cr tax."""
    settled = min(subtotal, unbilled_receivable, key=lambda m: m.amount)
    return _moving(
        Line.dr(Account.RECEIVABLES, subtotal + tax),
        Line.cr(Account.UNBILLED_RECEIVABLE, settled),
        Line.cr(Account.DEFERRED_REVENUE, subtotal - settled),
        Line.cr(Account.TAX_PAYABLE, tax),
    )


def credit_note_lines(subtotal: Money, tax: Money, deferred_revenue: Money) -> tuple[Line, ...]:
    """Reverses an invoice: receivables and tax exactly; the subtotal first takes back deferred
    revenue (up to its balance), the rest becomes unbilled receivable again. That is the
    invoice's own split when nothing was recognized in between, and otherwise keeps both
    contract accounts non-negative (unbilled = max(0, recognized - billed) and vice versa)."""
    restored = min(subtotal, deferred_revenue, key=lambda m: m.amount)
    return _moving(
        Line.dr(Account.DEFERRED_REVENUE, restored),
        Line.dr(Account.UNBILLED_RECEIVABLE, subtotal - restored),
        Line.dr(Account.TAX_PAYABLE, tax),
        Line.cr(Account.RECEIVABLES, subtotal + tax),
    )


def payment_lines(amount: Money) -> tuple[Line, ...]:
    """Dr cash / Cr receivables."""
    return _moving(Line.dr(Account.CASH, amount), Line.cr(Account.RECEIVABLES, amount))
