"""Billing's pure rules: what is billable, VAT, totals, numbers, payments, aging."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from mesh.errors import FailedPrecondition, InvalidArgument
from mesh.legal_entities import dump_legal_entities
from mesh.money import Money
from mesh.settings import SettingsError, load_settings
from services.billing.domain import invoicing
from services.billing.domain.aging import OpenBalance, age, bucket_of
from services.billing.domain.items import (
    ApprovedExpense,
    ApprovedTime,
    CompletedMilestone,
    InconsistentEvent,
    expense_item,
    milestone_item,
    time_items,
)
from services.billing.domain.model import (
    BillableItem,
    BillingModel,
    BillingProfile,
    Invoice,
    InvoiceStatus,
    ItemKind,
    Payment,
)
from services.billing.domain.taxes import (
    DEFAULT_LEGAL_ENTITIES,
    EU_REVERSE_CHARGE_NOTE,
    REVERSE_CHARGE_NOTE,
    TaxTreatment,
    tax_treatment,
)

D = dt.date


def profile(
    model: BillingModel = BillingModel.TIME_AND_MATERIALS, markup: str = "0"
) -> BillingProfile:
    return BillingProfile(
        engagement_id=uuid.uuid4(),
        code="PRJ-UK01-2025-0001",
        name="Test",
        legal_entity="UK01",
        currency="GBP",
        billing_model=model,
        customer_id=uuid.uuid4(),
        payment_terms_days=30,
        expense_markup_percent=Decimal(markup),
        milestones=(),
        version=1,
    )


def entry(hours: str, rate: str, billable: bool = True) -> ApprovedTime:
    return ApprovedTime(
        str(uuid.uuid4()), "Consultant", D(2025, 3, 3), Decimal(hours), Decimal(rate), billable, ""
    )


def gbp(value: str) -> Money:
    return Money(Decimal(value), "GBP")


def test_only_billable_time_of_time_and_materials_is_billed_each_rounded_once() -> None:
    entries = [entry("7.25", "123.45"), entry("3", "100", billable=False), entry("0.33", "99.99")]
    items = time_items(profile(), entries)
    assert [(i.source_id, i.amount) for i in items] == [
        (entries[0].time_entry_id, gbp("895.01")),
        (entries[2].time_entry_id, gbp("33.00")),
    ]
    assert items[0].unit_price == gbp("123.45")
    assert time_items(profile(BillingModel.FIXED_FEE), entries) == []
    assert time_items(profile(BillingModel.MILESTONE), entries) == []


def test_expenses_are_marked_up_for_every_model_with_the_approved_markup_first() -> None:
    def expense(
        markup: str | None, billable: bool = True, currency: str = "GBP"
    ) -> ApprovedExpense:
        return ApprovedExpense(
            "x-1",
            D(2025, 3, 3),
            "Travel",
            "",
            Money(Decimal("33.33"), currency),
            Decimal(markup) if markup is not None else None,
            billable,
        )

    for model in BillingModel:
        item = expense_item(profile(model, markup="10"), expense(None))
        assert item is not None
        assert (item.amount, item.description) == (gbp("36.66"), "Travel")  # 36.663
    approved = expense_item(profile(markup="10"), expense("12.5"))
    assert approved is not None and approved.amount == gbp("37.50")  # 37.49625
    assert expense_item(profile(), expense("10", billable=False)) is None
    with pytest.raises(InconsistentEvent, match="EUR"):
        expense_item(profile(), expense("0", currency="EUR"))


def test_milestones_are_billed_for_fixed_fee_and_milestone_engagements_only() -> None:
    done = CompletedMilestone("m-1", "Go-live", gbp("8000.00"), D(2025, 6, 30))
    for model in (BillingModel.FIXED_FEE, BillingModel.MILESTONE):
        item = milestone_item(profile(model), done)
        assert item is not None
        assert (item.kind, item.amount, item.quantity) == (
            ItemKind.MILESTONE,
            gbp("8000.00"),
            Decimal(1),
        )
    assert milestone_item(profile(), done) is None


@pytest.mark.parametrize(
    ("entity", "country", "rate", "note"),
    [
        ("UK01", "GB", "20", ""),
        ("UK01", "IE", "0", REVERSE_CHARGE_NOTE),
        ("DE01", "DE", "19", ""),
        ("DE01", "FR", "0", EU_REVERSE_CHARGE_NOTE),
        ("DE01", "US", "0", REVERSE_CHARGE_NOTE),
        ("US01", "US", "0", ""),
        ("US01", "GB", "0", ""),
    ],
)
def test_vat_by_entity_and_customer_country(
    entity: str, country: str, rate: str, note: str
) -> None:
    assert tax_treatment(DEFAULT_LEGAL_ENTITIES[entity], country) == TaxTreatment(
        Decimal(rate), note
    )


def test_billing_works_with_the_configured_entities() -> None:
    from services.billing.main import configured_entities

    assert configured_entities(load_settings({})) == dict(DEFAULT_LEGAL_ENTITIES)
    fr = replace(DEFAULT_LEGAL_ENTITIES["DE01"], code="FR01", country="FR", vat_percent=Decimal(20))
    text = dump_legal_entities({"FR01": fr})
    assert configured_entities(load_settings({"WEFTWORK_LEGAL_ENTITIES": text})) == {"FR01": fr}


def test_without_reverse_charge_a_cross_border_customer_pays_the_entity_vat() -> None:
    domestic_only = replace(DEFAULT_LEGAL_ENTITIES["DE01"], reverse_charge=False)
    assert tax_treatment(domestic_only, "FR") == TaxTreatment(Decimal(19), "")


def line(value: str) -> BillableItem:
    return BillableItem(
        ItemKind.TIME,
        str(uuid.uuid4()),
        uuid.uuid4(),
        D(2025, 3, 3),
        "",
        Decimal(1),
        gbp(value),
        gbp(value),
    )


def test_tax_is_rounded_once_on_the_subtotal_of_rounded_lines() -> None:
    totals = invoicing.price([line("0.33")] * 3, "GBP", TaxTreatment(Decimal(20), ""))
    assert (totals.subtotal, totals.tax, totals.total) == (gbp("0.99"), gbp("0.20"), gbp("1.19"))
    jpy = invoicing.price([], "JPY", TaxTreatment(Decimal(19), ""))
    assert jpy.total == Money(Decimal(0), "JPY")


def test_numbers_and_due_dates() -> None:
    assert invoicing.invoice_number("UK01", 2025, 42) == "UK01-2025-000042"
    assert invoicing.credit_note_number("DE01", 2026, 1) == "CN-DE01-2026-000001"
    assert invoicing.due_date(D(2025, 12, 15), 30) == D(2026, 1, 14)
    assert invoicing.due_date(D(2025, 12, 15), 0) == D(2025, 12, 15)  # due on receipt


def invoice(status: InvoiceStatus = InvoiceStatus.ISSUED, total: str = "120.00") -> Invoice:
    return Invoice(
        id=uuid.uuid4(),
        engagement_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        legal_entity="UK01",
        currency="GBP",
        status=status,
        lines=[line("100.00")],
        subtotal=gbp("100.00"),
        tax=gbp("20.00"),
        tax_rate=Decimal(20),
        tax_note="",
        total=gbp(total),
        amount_paid=gbp("0"),
        number=None if status is InvoiceStatus.DRAFT else "UK01-2025-000001",
        issue_date=None if status is InvoiceStatus.DRAFT else D(2025, 3, 1),
    )


def test_payments_move_an_invoice_to_partially_paid_then_paid() -> None:
    found = invoice()
    invoicing.check_payment(found, gbp("20.00"), D(2025, 3, 2))
    invoicing.record_payment(
        found, Payment(uuid.uuid4(), found.id, gbp("20.00"), D(2025, 3, 2), "a")
    )
    assert (found.status, found.balance, found.version) == (
        InvoiceStatus.PARTIALLY_PAID,
        gbp("100.00"),
        2,
    )
    with pytest.raises(FailedPrecondition, match="over-payment"):
        invoicing.check_payment(found, gbp("100.01"), D(2025, 3, 3))
    invoicing.record_payment(
        found, Payment(uuid.uuid4(), found.id, gbp("100.00"), D(2025, 3, 3), "b")
    )
    assert (found.status, found.balance) == (InvoiceStatus.PAID, gbp("0.00"))


@pytest.mark.parametrize(
    ("status", "amount", "received_on", "error", "field"),
    [
        (
            InvoiceStatus.ISSUED,
            Money(Decimal(1), "EUR"),
            D(2025, 3, 2),
            InvalidArgument,
            "amount.currency_code",
        ),
        (InvoiceStatus.ISSUED, gbp("-1"), D(2025, 3, 2), InvalidArgument, "amount"),
        (InvoiceStatus.ISSUED, gbp("1.001"), D(2025, 3, 2), InvalidArgument, "amount"),
        (InvoiceStatus.ISSUED, gbp("1"), D(2025, 2, 28), InvalidArgument, "received_on"),
        (InvoiceStatus.DRAFT, gbp("1"), D(2025, 3, 2), FailedPrecondition, None),
        (InvoiceStatus.VOID, gbp("1"), D(2025, 3, 2), FailedPrecondition, None),
        (InvoiceStatus.PAID, gbp("1"), D(2025, 3, 2), FailedPrecondition, None),
    ],
)
def test_refused_payments(
    status: InvoiceStatus, amount: Money, received_on: D, error: type[Exception], field: str | None
) -> None:
    with pytest.raises(error) as raised:
        invoicing.check_payment(invoice(status), amount, received_on)
    if isinstance(raised.value, InvalidArgument):
        assert [v.field for v in raised.value.violations] == [field]


def test_issue_and_void_retries_are_recognised_and_wrong_states_refused() -> None:
    draft = invoice(InvoiceStatus.DRAFT)
    assert invoicing.needs_issuing(draft, D(2025, 3, 1))
    issued = invoice()
    assert not invoicing.needs_issuing(issued, D(2025, 3, 1))  # a retry
    with pytest.raises(FailedPrecondition, match="only a DRAFT"):
        invoicing.needs_issuing(issued, D(2025, 3, 2))
    assert invoicing.void_date(issued, D(2025, 1, 1)) == D(2025, 3, 1)  # never before the invoice
    paid = invoice()
    paid.amount_paid = gbp("1.00")
    with pytest.raises(FailedPrecondition, match="unpaid"):
        invoicing.needs_voiding(paid)
    invoicing.void(issued, reason="x", on=D(2025, 3, 5), credit_note="CN-UK01-2025-000001")
    assert not invoicing.needs_voiding(issued)
    assert issued.balance == gbp("0")


@pytest.mark.parametrize(
    ("days_past_due", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "overdue_1_to_30"),
        (30, "overdue_1_to_30"),
        (31, "overdue_31_to_60"),
        (60, "overdue_31_to_60"),
        (61, "overdue_61_to_90"),
        (90, "overdue_61_to_90"),
        (91, "overdue_over_90"),
        (4000, "overdue_over_90"),
    ],
)
def test_aging_buckets_by_days_past_due(days_past_due: int, bucket: str) -> None:
    due = D(2025, 1, 31)
    assert bucket_of(due, due + dt.timedelta(days=days_past_due)) == bucket


def test_aging_never_adds_currencies_together() -> None:
    as_of = D(2025, 6, 30)
    report = age(
        [
            OpenBalance(gbp("10.00"), D(2025, 7, 1)),
            OpenBalance(Money(Decimal("7.00"), "USD"), D(2025, 1, 1)),
            OpenBalance(gbp("5.00"), D(2025, 6, 1)),
        ],
        as_of,
    )
    assert [(r.currency, r.total, r.open_invoices) for r in report] == [
        ("GBP", gbp("15.00"), 2),
        ("USD", Money(Decimal("7.00"), "USD"), 1),
    ]
    assert report[0].buckets["current"] == gbp("10.00")
    assert report[0].buckets["overdue_1_to_30"] == gbp("5.00")
    assert report[1].buckets["overdue_over_90"].amount == Decimal("7.00")


def test_a_malformed_legal_entity_setting_stops_the_service_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from services.billing import main

    monkeypatch.setenv("WEFTWORK_LEGAL_ENTITIES", '[{"code": "FR01"}]')
    # Read with every other setting, before anything connects; the CLI prints it and exits.
    with pytest.raises(SettingsError, match="WEFTWORK_LEGAL_ENTITIES: legal entity FR01: name"):
        main.main()
