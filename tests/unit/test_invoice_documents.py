"""The invoice document's rules without services: money per currency, the view an invoice and
its credit note make, the same bytes for the same invoice, and billing details' validation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.documents.money import amount_text, date_text, money_text, quantity_text
from gateway.documents.render import Parties, credit_note_view, invoice_view, render_pdf
from mesh.errors import InvalidArgument, Violations
from mesh.grpc.convert import date_to_proto, money_to_proto
from mesh.legal_entities import DEFAULT_LEGAL_ENTITIES
from mesh.money import Money
from services.customer.domain.billing import check_address, check_contact
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.customer.v1 import customer_service_pb2 as customer_pb


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("1234.5", "EUR", "1,234.50"),
        ("1234567.891", "USD", "1,234,567.89"),
        ("150000", "JPY", "150,000"),
        ("12.3456", "KWD", "12.346"),
        ("-7400", "EUR", "\u22127,400.00"),
        ("-0.001", "EUR", "0.00"),
    ],
)
def test_amounts_print_to_the_currencys_minor_unit(amount: str, currency: str, text: str) -> None:
    assert amount_text(Decimal(amount), currency) == text


def test_quantities_dates_and_money_print_plainly() -> None:
    assert [quantity_text(Decimal(q)) for q in ("7.50", "8.00", "1", "0.25")] == [
        "7.5",
        "8",
        "1",
        "0.25",
    ]
    assert date_text(dt.date(2026, 3, 2)) == "2 March 2026"
    assert money_text(Decimal("0"), "GBP") == "0.00 GBP"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def invoice(**changes: object) -> pb.Invoice:
    fields: dict[str, object] = {
        "id": "7f1c1d5e-0000-4000-8000-000000000001",
        "number": "DE01-2026-000007",
        "status": pb.INVOICE_STATUS_ISSUED,
        "legal_entity": "DE01",
        "currency": "EUR",
        "customer_id": "c",
        "issue_date": date_to_proto(dt.date(2026, 3, 2)),
        "due_date": date_to_proto(dt.date(2026, 4, 1)),
        "lines": [
            pb.InvoiceLine(
                description="consultant: 12.5 h",
                quantity="12.5",
                unit_price=money_to_proto(eur("150")),
                amount=money_to_proto(eur("1875")),
                service_start_date=date_to_proto(dt.date(2026, 2, 2)),
                service_end_date=date_to_proto(dt.date(2026, 2, 27)),
            )
        ],
        "subtotal": money_to_proto(eur("1875")),
        "tax": money_to_proto(eur("0")),
        "tax_rate": "0",
        "tax_note": "Reverse charge: VAT to be accounted for by the recipient",
        "total": money_to_proto(eur("1875")),
        "amount_paid": money_to_proto(eur("875")),
        "balance": money_to_proto(eur("1000")),
        "purchase_order_number": "PO-9",
    }
    return pb.Invoice(**{**fields, **changes})  # type: ignore[arg-type]


PARTIES = Parties(
    DEFAULT_LEGAL_ENTITIES["DE01"],
    customer_pb.Customer(
        name="Atelier SAS",
        country="FR",
        billing_address=customer_pb.PostalAddress(
            lines=["1 quai Voltaire"], city="Lyon", postcode="69002", country="FR"
        ),
    ),
    "PRJ-DE01-2026-0007",
)


def test_an_invoice_shows_what_is_paid_and_what_is_due() -> None:
    view = invoice_view(invoice(), PARTIES)
    assert view["bill_to"]["address"] == ["1 quai Voltaire", "69002 Lyon", "France"]
    assert ["Purchase order", "PO-9"] in view["facts"]
    assert view["totals"] == [
        ["Subtotal", "1,875.00 EUR", False],
        ["VAT 0% (reverse charge)", "0.00 EUR", False],
        ["Total", "1,875.00 EUR", True],
        ["Amount paid", "875.00 EUR", False],
        ["Balance due", "1,000.00 EUR", True],
    ]
    assert view["notes"][-1] == "Please pay 1,000.00 EUR by 1 April 2026, quoting DE01-2026-000007."
    assert view["lines"][0]["period"] == "2026-02-02 \u2013 2026-02-27"


def test_a_credit_note_negates_the_amounts_and_cites_the_invoice() -> None:
    voided = invoice(
        status=pb.INVOICE_STATUS_VOID,
        credit_note_number="CN-DE01-2026-000001",
        voided_on=date_to_proto(dt.date(2026, 3, 9)),
        void_reason="Wrong PO",
        amount_paid=money_to_proto(eur("0")),
    )
    note = credit_note_view(voided, PARTIES)
    assert (note["title"], note["number"], note["date"]) == (
        "Credit note",
        "CN-DE01-2026-000001",
        [2026, 3, 9],
    )
    assert note["lines"][0]["amount"] == "\u22121,875.00"
    assert note["lines"][0]["unit_price"] == "150.00"
    assert note["totals"][-1] == ["Total credited", "\u22121,875.00 EUR", True]
    assert note["notes"][0].startswith("This credit note cancels invoice DE01-2026-000007")
    assert invoice_view(voided, PARTIES)["mark"] == "VOID · credited by CN-DE01-2026-000001"


def test_the_same_invoice_renders_the_same_bytes() -> None:
    view = invoice_view(invoice(), PARTIES)
    first, second = render_pdf(view), render_pdf(invoice_view(invoice(), PARTIES))
    assert first.startswith(b"%PDF-") and first == second
    assert b"D:20260302" in first  # the issue date, never the time of rendering
    assert render_pdf(invoice_view(invoice(number="DE01-2026-000008"), PARTIES)) != first


def test_customer_text_is_printed_never_read_as_markup() -> None:
    hostile = Parties(
        DEFAULT_LEGAL_ENTITIES["DE01"],
        customer_pb.Customer(name='#panic("x") *bold* $x$ <b>', country="FR"),
    )
    assert render_pdf(invoice_view(invoice(), hostile)).startswith(b"%PDF-")


def test_billing_details_are_checked_field_by_field() -> None:
    errors = Violations()
    assert check_contact("", "", "c", errors) is None
    assert check_address([], "", "", "", "a", errors) is None
    check_contact("AP", "ap@example", "c", errors)
    check_address(["x"] * 5, "", "75*02", "ZZ", "a", errors)
    with pytest.raises(InvalidArgument) as raised:
        errors.raise_if_any()
    assert [v.field for v in raised.value.violations] == [
        "c.email",
        "a.lines",
        "a.city",
        "a.postcode",
        "a.country",
    ]
    fine = Violations()
    contact = check_contact(" Camille  Martin ", " ap@example.fr ", "c", fine)
    address = check_address(["1 quai Voltaire", " "], "Lyon", "69002", "fr", "a", fine)
    assert fine.items == []
    assert contact is not None and (contact.name, contact.email) == (
        "Camille Martin",
        "ap@example.fr",
    )
    assert address is not None and (address.lines, address.country) == (("1 quai Voltaire",), "FR")
