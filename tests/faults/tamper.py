"""Harm done on purpose to a checked run's databases, as a bug would do it, so the checker can
show it notices: an event a consumer never applied, one applied twice, an hour recognized twice,
a payment the journal lost, an approved hour never billed, a gap in the invoice numbers, an
unbalanced entry."""

from __future__ import annotations

import asyncpg

from tests.faults.cluster import Platform

TAMPERED_LOST = [
    "billing-project events not applied",
    "payment entries miscounted",
    "approved facts without a billable item",
    "inbound receipts not processed",
]
TAMPERED_DUPLICATED = [
    "hours recognized more than once",
    "engagements with revenue doubled",
    "billing-project events applied twice",
]
TAMPERED_PROBLEMS = ["are not gapless", "do not balance", "trial balance of"]

HARM = {
    "connect": [
        # A partner's webhook receipt loses its engagement: as if it was never processed.
        """UPDATE receipts SET engagement_id = ''
            WHERE id = (SELECT id FROM receipts WHERE engagement_id <> '' LIMIT 1)""",
    ],
    "billing": [
        # The audit row of an applied event goes (the log is append-only: a superuser must
        # turn its trigger off): as if the event never reached billing.
        """ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
           DELETE FROM audit_log WHERE seq = (SELECT seq FROM audit_log
                WHERE operation LIKE 'weftwork.project.%' AND event_id IS NOT NULL LIMIT 1);
           ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_append_only""",
        # Another is applied a second time: a second audit row, as a pruned inbox row would let
        # a redelivery write.
        """INSERT INTO audit_log (actor, on_behalf_of, operation, targets, engagement_ids,
                                  request_id, event_id)
           SELECT actor, on_behalf_of, operation, targets, engagement_ids, request_id, event_id
             FROM audit_log WHERE operation LIKE 'weftwork.project.%' AND event_id IS NOT NULL
            ORDER BY seq DESC LIMIT 1""",
        # An approved hour loses its billable item (and its invoice line).
        """WITH item AS (SELECT id FROM billable_items WHERE kind = 'TIME' LIMIT 1),
                lines AS (DELETE FROM invoice_items WHERE item_id IN (SELECT id FROM item))
           DELETE FROM billable_items WHERE id IN (SELECT id FROM item)""",
        # An invoice takes a number past the end of its sequence: a gap.
        """UPDATE invoices SET number = legal_entity || '-' || extract(year FROM issue_date)
                                        || '-999999'
            WHERE id = (SELECT id FROM invoices WHERE number IS NOT NULL LIMIT 1)""",
    ],
    "revenue": [
        # An hour's recognition posted a second time.
        """WITH original AS (
               SELECT * FROM journal_entries WHERE kind = 'RECOGNITION' AND basis = 'TIME' LIMIT 1),
           copy AS (
               INSERT INTO journal_entries (id, legal_entity, engagement_id, kind, basis,
                   description, service_date, posting_date, period, currency, source_event_id,
                   source_ids, created_at)
               SELECT gen_random_uuid(), legal_entity, engagement_id, kind, basis, description,
                      service_date, posting_date, period, currency, source_event_id, source_ids,
                      created_at
                 FROM original RETURNING id)
           INSERT INTO journal_lines (entry_id, line_no, account, debit, credit)
           SELECT copy.id, l.line_no, l.account, l.debit, l.credit
             FROM copy, original JOIN journal_lines l ON l.entry_id = original.id""",
        # A payment's journal entry goes missing.
        """WITH gone AS (SELECT id FROM journal_entries WHERE kind = 'PAYMENT' LIMIT 1),
                lines AS (DELETE FROM journal_lines WHERE entry_id IN (SELECT id FROM gone))
           DELETE FROM journal_entries WHERE id IN (SELECT id FROM gone)""",
        # One line of one entry a cent off.
        """UPDATE journal_lines SET debit = debit + 0.01
            WHERE (entry_id, line_no) = (SELECT entry_id, line_no FROM journal_lines
                                          WHERE debit > 0 LIMIT 1)""",
    ],
}


async def tamper(platform: Platform) -> None:
    for service, statements in HARM.items():
        conn = await asyncpg.connect(platform.database_url(service))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()
