"""An invoice or its credit note as the view the Typst template prints, and the PDF.

Everything is decided here, in Python, from billing's invoice, the customer and the legal
entity: the template only lays out strings. The same invoice gives the same bytes: the PDF's
dates are the document's own (issue or credit date), and only the fonts Typst embeds are used
(never the machine's).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pycountry
import typst
from google.type import money_pb2

from gateway.common import date
from gateway.documents.money import amount_text, date_text, money_text, quantity_text
from mesh.grpc.convert import money_from_proto
from mesh.legal_entities import LegalEntitySetting
from weftwork.billing.v1 import billing_service_pb2 as billing_pb
from weftwork.customer.v1 import customer_service_pb2 as customer_pb

TEMPLATE = Path(__file__).with_name("invoice.typ")
# Countries whose addresses put the postcode after the city ("London EC2M 2PF").
_CITY_FIRST = frozenset({"GB", "US", "CA", "AU", "IE", "NZ"})
_VAT_COUNTRIES = frozenset({"GB", "CH", "NO"})  # besides the EU's: where the tax is "VAT"


@dataclass(frozen=True)
class Parties:
    """Who the document is from and to, and the work it bills."""

    entity: LegalEntitySetting
    customer: customer_pb.Customer | None
    engagement_code: str = ""
    engagement_name: str = ""


def _amount(message: money_pb2.Money, currency: str, sign: int = 1) -> Decimal:
    return sign * money_from_proto(message).amount if message.currency_code else Decimal(0)


def _country(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return (
        str(getattr(found, "common_name", None) or getattr(found, "name", code)) if found else code
    )


def _bill_to(invoice: billing_pb.Invoice, customer: customer_pb.Customer | None) -> dict[str, Any]:
    """The bill-to the invoice fixed at issue; the customer as it is now for an invoice issued
    before invoices kept one."""
    if invoice.HasField("bill_to"):
        b = invoice.bill_to
        return _printed(b.name, b.country, b.tax_id, b.contact, b.address)
    if customer is None:
        return _printed(f"Customer {invoice.customer_id}", "", "", None, None)
    c = customer
    return _printed(c.name, c.country, c.tax_id, c.billing_contact, c.billing_address)


def _printed(
    name: str,
    country: str,
    tax_id: str,
    contact: customer_pb.BillingContact | None,
    a: customer_pb.PostalAddress | None,
) -> dict[str, Any]:
    if a is not None and a.city:
        place = f"{a.city} {a.postcode}" if a.country in _CITY_FIRST else f"{a.postcode} {a.city}"
        address = [*a.lines, place.strip(), _country(a.country)]
    else:
        address = [_country(country)] if country else []
    return {
        "name": name,
        "contact": contact.name if contact else "",
        "email": contact.email if contact else "",
        "address": address,
        "tax_id": tax_id,
    }


def _period(line: billing_pb.InvoiceLine) -> str:
    start, end = date(line.service_start_date), date(line.service_end_date)
    if start is None:
        return ""
    if end is None or end == start:
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d} \u2013 {end:%Y-%m-%d}"  # an en dash


def _lines(invoice: billing_pb.Invoice, sign: int) -> list[dict[str, str]]:
    c = invoice.currency
    return [
        {
            "description": line.description,
            "period": _period(line),
            "quantity": quantity_text(Decimal(line.quantity or "0")),
            "unit_price": amount_text(_amount(line.unit_price, c), c),  # a credit negates amounts
            "amount": amount_text(_amount(line.amount, c, sign), c),
        }
        for line in invoice.lines
    ]


def _tax_row(invoice: billing_pb.Invoice, entity: LegalEntitySetting, sign: int) -> list[Any]:
    rate = Decimal(invoice.tax_rate or "0")
    kind = "VAT" if entity.vat_percent > 0 or invoice.tax_note else "Tax"
    label = f"{kind} {rate.normalize():f}%" + (" (reverse charge)" if invoice.tax_note else "")
    return [
        label,
        money_text(_amount(invoice.tax, invoice.currency, sign), invoice.currency),
        False,
    ]


def _footer(entity: LegalEntitySetting) -> str:
    parts = [entity.name or entity.code, *entity.address]
    return " · ".join([*parts, f"VAT ID {entity.vat_id}"] if entity.vat_id else parts)


def _facts(rows: list[tuple[str, str]]) -> list[list[str]]:
    return [[label, value] for label, value in rows if value]


def invoice_view(invoice: billing_pb.Invoice, parties: Parties) -> dict[str, Any]:
    """The invoice as issued (a VOID one is marked with its credit note)."""
    c, entity = invoice.currency, parties.entity
    issued, due = date(invoice.issue_date), date(invoice.due_date)
    assert issued is not None, "only an issued invoice has a document"
    balance = _amount(invoice.balance, c)
    mark = {
        billing_pb.INVOICE_STATUS_VOID: f"VOID · credited by {invoice.credit_note_number}",
        billing_pb.INVOICE_STATUS_PAID: "PAID",
    }.get(invoice.status, "")
    notes = [invoice.tax_note] if invoice.tax_note else []
    if balance > 0:
        notes.append(
            f"Please pay {money_text(balance, c)} by {date_text(due)}, quoting {invoice.number}."
        )
    return {
        "title": "Invoice",
        "number": invoice.number,
        "mark": mark if invoice.credit_note_number or mark == "PAID" else "",
        "date": [issued.year, issued.month, issued.day],
        "entity": _entity(entity),
        "bill_to": _bill_to(invoice, parties.customer),
        "facts": _facts(
            [
                ("Invoice number", invoice.number),
                ("Issue date", date_text(issued)),
                ("Due date", date_text(due)),
                ("Purchase order", invoice.purchase_order_number),
                ("Engagement", parties.engagement_code),
                ("Currency", c),
            ]
        ),
        "lines": _lines(invoice, 1),
        "totals": [
            ["Subtotal", money_text(_amount(invoice.subtotal, c), c), False],
            _tax_row(invoice, entity, 1),
            ["Total", money_text(_amount(invoice.total, c), c), True],
            ["Amount paid", money_text(_amount(invoice.amount_paid, c), c), False],
            ["Balance due", money_text(balance, c), True],
        ],
        "notes": notes,
        "footer": _footer(entity),
    }


def credit_note_view(invoice: billing_pb.Invoice, parties: Parties) -> dict[str, Any]:
    """The credit note of a voided invoice: its lines and totals negated, citing the invoice."""
    c, entity = invoice.currency, parties.entity
    credited, issued = date(invoice.voided_on), date(invoice.issue_date)
    assert credited is not None and issued is not None, "only a voided, issued invoice"
    notes = [
        f"This credit note cancels invoice {invoice.number} of {date_text(issued)} in full."
        + (f" Reason: {invoice.void_reason}" if invoice.void_reason else ""),
        *([invoice.tax_note] if invoice.tax_note else []),
    ]
    return {
        "title": "Credit note",
        "number": invoice.credit_note_number,
        "mark": "",
        "date": [credited.year, credited.month, credited.day],
        "entity": _entity(entity),
        "bill_to": _bill_to(invoice, parties.customer),
        "facts": _facts(
            [
                ("Credit note number", invoice.credit_note_number),
                ("Date", date_text(credited)),
                ("Credits invoice", invoice.number),
                ("Invoice date", date_text(issued)),
                ("Purchase order", invoice.purchase_order_number),
                ("Engagement", parties.engagement_code),
                ("Currency", c),
            ]
        ),
        "lines": _lines(invoice, -1),
        "totals": [
            ["Subtotal", money_text(_amount(invoice.subtotal, c, -1), c), False],
            _tax_row(invoice, entity, -1),
            ["Total credited", money_text(_amount(invoice.total, c, -1), c), True],
        ],
        "notes": notes,
        "footer": _footer(entity),
    }


def _entity(entity: LegalEntitySetting) -> dict[str, Any]:
    return {
        "name": entity.name or entity.code,
        "address": list(entity.address),
        "vat_id": entity.vat_id,
    }


def render_pdf(view: dict[str, Any]) -> bytes:
    """The PDF of a view; the same view always gives the same bytes."""
    year, month, day = view["date"]
    moment = dt.datetime(year, month, day, tzinfo=dt.UTC)
    pdf: bytes = typst.compile(
        str(TEMPLATE),
        sys_inputs={"document": json.dumps(view, ensure_ascii=False, sort_keys=True)},
        ignore_system_fonts=True,
        timestamp=int(moment.timestamp()),
    )
    return pdf
