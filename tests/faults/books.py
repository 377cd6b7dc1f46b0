"""The books after a run, from the services' databases (read-only): project's approved facts
against billing's items and invoices and revenue's journal.

- every approved billable hour, expense and completed milestone is a billable item, on at
  most one live invoice; invoice and credit-note numbers are gapless per entity and year;
- every approved hour is recognized exactly once, and each engagement's recognized revenue is
  what its facts earn; every journal entry balances; the trial balance is zero per entity
  and currency; every invoice, credit note and payment is journaled once, for its amount.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from decimal import Decimal

import asyncpg

from mesh.money import Money
from tests.faults.checker import Findings

NUMBER = re.compile(r"^(?:CN-)?([A-Z0-9]+)-(\d{4})-(\d{6})$")


async def check_books(db: dict[str, asyncpg.Connection], found: Findings) -> None:
    project, billing, revenue = db["project"], db["billing"], db["revenue"]
    engagements = {
        r["id"]: r
        for r in await project.fetch(
            "SELECT id, billing_model, currency, contract_value, budget_hours, approved_hours,"
            " status FROM engagements"
        )
    }
    time = await project.fetch(
        "SELECT t.id, t.engagement_id, t.billable, t.bill_amount, e.billing_model"
        " FROM time_entries t JOIN engagements e ON e.id = t.engagement_id"
        " WHERE t.status = 'APPROVED'"
    )
    expenses = await project.fetch(
        "SELECT id, engagement_id, billable_amount FROM expenses"
        " WHERE status = 'APPROVED' AND billable"
    )
    milestones = await project.fetch(
        "SELECT m.id, m.engagement_id, m.amount FROM milestones m WHERE m.status = 'COMPLETED'"
    )
    billable = {("TIME", str(t["id"])): t["bill_amount"] for t in time if _billed_by_hour(t)}
    billable |= {("EXPENSE", str(x["id"])): x["billable_amount"] for x in expenses}
    billable |= {("MILESTONE", str(m["id"])): m["amount"] for m in milestones}
    await _check_billing(billing, billable, found)
    await _check_set_up(engagements, billing, revenue, found)
    await _check_recognition(revenue, engagements, time, expenses, milestones, found)
    await _check_journal(revenue, billing, found)


def _billed_by_hour(entry: asyncpg.Record) -> bool:
    """Billable time of a T&M engagement: billed and recognized entry by entry."""
    return bool(entry["billable"] and entry["billing_model"] == "TIME_AND_MATERIALS")


async def _check_billing(
    billing: asyncpg.Connection, expected: dict[tuple[str, str], Decimal], found: Findings
) -> None:
    items = {
        (r["kind"], r["source_id"]): r["amount"]
        for r in await billing.fetch("SELECT kind, source_id, amount FROM billable_items")
    }
    missing = expected.keys() - items.keys()
    found.count(found.lost, "approved facts without a billable item", len(missing), [*missing][:3])
    strangers = items.keys() - expected.keys()
    if strangers:
        found.problems.append(f"billable items of no approved fact: {[*strangers][:3]}")
    wrong = [k for k in expected.keys() & items.keys() if expected[k] != items[k]]
    if wrong:
        found.problems.append(f"billable items with another amount than approved: {wrong[:3]}")
    twice = await billing.fetch(
        "SELECT item_id FROM invoice_items WHERE live GROUP BY item_id HAVING count(*) > 1"
    )
    found.count(found.duplicated, "items on two live invoices", len(twice), twice[:3])
    stuck = await billing.fetchval(
        "SELECT count(*) FROM invoice_items ii JOIN invoices i ON i.id = ii.invoice_id"
        " WHERE ii.live AND i.status = 'VOID'"
    )
    if stuck:
        found.problems.append(f"{stuck} items still live on void invoices (never billed again)")
    invoices = await billing.fetch(
        """SELECT i.id, i.status, i.subtotal, i.tax, i.total, i.amount_paid,
                  coalesce((SELECT sum(p.amount) FROM payments p WHERE p.invoice_id = i.id), 0)
                      AS paid,
                  (SELECT coalesce(sum(b.amount), 0) FROM invoice_items ii
                     JOIN billable_items b ON b.id = ii.item_id
                    WHERE ii.invoice_id = i.id AND ii.live) AS live_lines
             FROM invoices i"""
    )
    for i in invoices:
        if i["amount_paid"] != i["paid"] or i["subtotal"] + i["tax"] != i["total"]:
            found.problems.append(f"invoice {i['id']} does not add up: {dict(i)}")
        if i["status"] != "VOID" and i["subtotal"] != i["live_lines"]:
            found.problems.append(f"invoice {i['id']} subtotal is not its lines: {dict(i)}")
    await _check_numbers(billing, found)


async def _check_numbers(billing: asyncpg.Connection, found: Findings) -> None:
    """Numbers 1..N per (entity, kind, year) with N the counter: no gap, no repeat."""
    used: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    for r in await billing.fetch(
        "SELECT 'INVOICE' AS kind, number, issue_date AS day FROM invoices WHERE number IS NOT NULL"
        " UNION ALL SELECT 'CREDIT_NOTE', credit_note_number, voided_on FROM invoices"
        " WHERE credit_note_number IS NOT NULL"
    ):
        match = NUMBER.match(r["number"])
        if match is None or int(match[2]) != r["day"].year:
            found.problems.append(f"malformed number {r['number']} dated {r['day']}")
            continue
        used[(match[1], r["kind"], int(match[2]))].append(int(match[3]))
    counters = {
        (r["legal_entity"], r["kind"], r["year"]): r["last_value"]
        for r in await billing.fetch("SELECT * FROM number_sequences")
    }
    for sequence in used.keys() | counters.keys():
        numbers = sorted(used.get(sequence, []))
        if numbers != list(range(1, counters.get(sequence, 0) + 1)):
            found.problems.append(f"numbers of {sequence} are not gapless: {_gaps(numbers)}")


def _gaps(numbers: list[int]) -> str:
    repeated = [n for n, k in Counter(numbers).items() if k > 1]
    absent = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
    return f"{len(numbers)} used, missing {absent[:5]}, repeated {repeated[:5]}"


async def _check_set_up(
    engagements: dict[object, asyncpg.Record],
    billing: asyncpg.Connection,
    revenue: asyncpg.Connection,
    found: Findings,
) -> None:
    profiles = {r["id"] for r in await billing.fetch("SELECT id FROM engagements")}
    contracts = {
        r["engagement_id"]: r["approved_hours"]
        for r in await revenue.fetch("SELECT engagement_id, approved_hours FROM contracts")
    }
    found.count(found.lost, "engagements billing never set up", len(engagements.keys() - profiles))
    found.count(
        found.lost, "engagements revenue never set up", len(engagements.keys() - contracts.keys())
    )
    for engagement_id, hours in contracts.items():
        approved = engagements[engagement_id]["approved_hours"]
        kind = found.lost if hours < approved else found.duplicated
        found.count(kind, "engagements whose hours revenue miscounted", int(hours != approved))
    parked = await revenue.fetchval("SELECT count(*) FROM parked_events")
    found.count(found.lost, "events revenue still holds parked", parked)


async def _check_recognition(
    revenue: asyncpg.Connection,
    engagements: dict[object, asyncpg.Record],
    time: list[asyncpg.Record],
    expenses: list[asyncpg.Record],
    milestones: list[asyncpg.Record],
    found: Findings,
) -> None:
    """Each billable T&M hour in exactly one recognition entry; each engagement's revenue is
    what its approved facts earn under its billing model."""
    recognized_time = Counter(
        {
            r["id"]: r["n"]
            for r in await revenue.fetch(
                "SELECT s.id, count(*) AS n FROM journal_entries e, unnest(e.source_ids) s(id)"
                " WHERE e.kind = 'RECOGNITION' AND e.basis = 'TIME' GROUP BY 1"
            )
        }
    )
    hours = {str(t["id"]) for t in time if _billed_by_hour(t)}
    found.count(found.lost, "billable hours never recognized", len(hours - set(recognized_time)))
    twice = [i for i, n in recognized_time.items() if n > 1]
    found.count(found.duplicated, "hours recognized more than once", len(twice), twice[:3])
    if set(recognized_time) - hours:
        found.problems.append("hours recognized that are not approved billable T&M time")
    earned: dict[object, Decimal] = defaultdict(Decimal)
    for t in time:
        if _billed_by_hour(t):
            earned[t["engagement_id"]] += t["bill_amount"]
    for x in expenses:
        earned[x["engagement_id"]] += x["billable_amount"]
    for m in milestones:
        if engagements[m["engagement_id"]]["billing_model"] == "MILESTONE":
            earned[m["engagement_id"]] += m["amount"]
    for e in engagements.values():
        if e["billing_model"] == "FIXED_FEE":
            progress = min(Decimal(1), e["approved_hours"] / e["budget_hours"])
            if e["status"] == "COMPLETED":
                progress = Decimal(1)
            earned[e["id"]] += Money.of(e["contract_value"], e["currency"]).times(progress).amount
    booked = {
        r["engagement_id"]: r["recognized"]
        for r in await revenue.fetch(
            "SELECT e.engagement_id, sum(l.credit - l.debit) AS recognized"
            " FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id"
            " WHERE l.account = 'revenue' GROUP BY 1"
        )
    }
    short = [e for e in engagements if booked.get(e, 0) < earned[e]]
    over = [e for e in engagements if booked.get(e, 0) > earned[e]]
    found.count(found.lost, "engagements with revenue missing", len(short), short[:3])
    found.count(found.duplicated, "engagements with revenue doubled", len(over), over[:3])


async def _check_journal(
    revenue: asyncpg.Connection, billing: asyncpg.Connection, found: Findings
) -> None:
    unbalanced = await revenue.fetch(
        "SELECT entry_id FROM journal_lines GROUP BY 1 HAVING sum(debit) <> sum(credit)"
    )
    if unbalanced:
        found.problems.append(f"{len(unbalanced)} journal entries do not balance")
    for r in await revenue.fetch(
        "SELECT e.legal_entity, e.currency, sum(l.debit - l.credit) AS net"
        " FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id GROUP BY 1, 2"
    ):
        if r["net"] != 0:
            found.problems.append(
                f"trial balance of {r['legal_entity']} {r['currency']} is {r['net']}"
            )
    # Billing's documents as revenue journaled them: (kind, invoice) -> entries, amount.
    journaled = {
        (r["kind"], r["invoice_id"]): (r["entries"], r["amount"])
        for r in await revenue.fetch(
            """SELECT e.kind, e.source_ids[1] AS invoice_id, count(DISTINCT e.id) AS entries,
                      sum(CASE e.kind WHEN 'INVOICE' THEN l.debit WHEN 'CREDIT_NOTE' THEN l.credit
                                      ELSE l.credit END) AS amount
                 FROM journal_entries e JOIN journal_lines l ON l.entry_id = e.id
                WHERE e.kind <> 'RECOGNITION' AND l.account = 'receivables'
                GROUP BY 1, 2"""
        )
    }
    expected: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for i in await billing.fetch(
        "SELECT id, number, credit_note_number, total, amount_paid,"
        " (SELECT count(*) FROM payments p WHERE p.invoice_id = i.id) AS payments"
        " FROM invoices i WHERE number IS NOT NULL AND total > 0"
    ):
        invoice = str(i["id"])
        expected[("INVOICE", invoice)] = (1, i["total"])
        if i["credit_note_number"]:
            expected[("CREDIT_NOTE", invoice)] = (1, i["total"])
        if i["payments"]:
            expected[("PAYMENT", invoice)] = (i["payments"], i["amount_paid"])
    for document, (entries, amount) in expected.items():
        got_entries, got_amount = journaled.get(document, (0, Decimal(0)))
        kind = found.lost if got_entries < entries else found.duplicated
        found.count(kind, f"{document[0].lower()} entries miscounted", int(got_entries != entries))
        if got_entries == entries and got_amount != amount:
            found.problems.append(f"{document} journaled for {got_amount}, billed {amount}")
    unknown = journaled.keys() - expected.keys()
    if unknown:
        found.problems.append(f"journaled documents billing does not know: {[*unknown][:3]}")
