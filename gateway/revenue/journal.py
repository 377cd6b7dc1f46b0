"""The ERP hand-off (DESIGN.md §9): journalExport over GraphQL and the same journal as CSV at
GET /exports/journal/{entity}/{period}.csv; legalEntities for every signed-in caller."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import strawberry

from gateway.auth import Principal
from gateway.clients import ServiceClients
from gateway.common import Money, date, money_required
from gateway.context import Info
from gateway.errors import BadUserInput, Forbidden, call
from mesh.legal_entities import LEGAL_ENTITY_CODE
from mesh.settings import Settings
from weftwork.revenue.v1 import revenue_service_pb2 as pb

READERS = frozenset({"finance", "admin"})
CSV_COLUMNS = (
    "journal_id",
    "status",
    "legal_entity",
    "period",
    "posting_date",
    "currency",
    "account_code",
    "account",
    "account_name",
    "engagement_code",
    "engagement_id",
    "debit",
    "credit",
    "memo",
)


@strawberry.type(description="A legal entity of the firm (WEFTWORK_LEGAL_ENTITIES).")
class LegalEntity:
    code: str
    name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    currencies: list[str] = strawberry.field(description="It contracts in these; first: default.")
    vat_percent: Decimal
    reverse_charge: bool
    approval_required: bool


@strawberry.type(description="One net movement of the period: one of debit, credit is zero.")
class JournalExportLine:
    journal_id: str = strawberry.field(description="One balanced journal per currency.")
    currency: str
    account_code: str = strawberry.field(description="The entity's ERP account code.")
    account: str = strawberry.field(description="Our account name, e.g. revenue.")
    account_name: str
    engagement_id: strawberry.ID
    engagement_code: str
    debit: Money
    credit: Money


@strawberry.type(description="A period's journal of one legal entity, for the firm's ERP.")
class JournalExport:
    legal_entity: str
    period: str
    provisional: bool = strawberry.field(
        description="True while the period is open: postings may still land in it."
    )
    posting_date: dt.date
    lines: list[JournalExportLine]


async def fetch_export(
    principal: Principal,
    settings: Settings,
    clients: ServiceClients,
    legal_entity: str,
    period: str,
) -> pb.GetJournalExportResponse:
    """Role, then the entity (configured?), then the caller's scope; revenue checks the period."""
    principal.require_role("journalExport", READERS)
    entities = settings.legal_entities
    if not LEGAL_ENTITY_CODE.match(legal_entity) or legal_entity not in entities:
        known = ", ".join(sorted(entities))
        raise BadUserInput(f"legal entity {legal_entity[:16]!r} is not configured ({known})")
    if not principal.sees(legal_entity):
        raise Forbidden(f"legal entity {legal_entity} is outside your scope")
    return await call(
        "revenue",
        clients.revenue.GetJournalExport(
            pb.GetJournalExportRequest(legal_entity=legal_entity, period=period)
        ),
    )


def _line(line: pb.JournalExportLine) -> JournalExportLine:
    return JournalExportLine(
        journal_id=line.journal_id,
        currency=line.currency,
        account_code=line.account_code,
        account=line.account,
        account_name=line.account_name,
        engagement_id=strawberry.ID(line.engagement_id),
        engagement_code=line.engagement_code,
        debit=money_required(line.debit, line.currency),
        credit=money_required(line.credit, line.currency),
    )


def export_csv(found: pb.GetJournalExportResponse) -> str:
    """The CSV of docs/finance.md: a header row, then one row per line (RFC 4180, CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    status = "PROVISIONAL" if found.provisional else "FINAL"
    posting = date(found.posting_date)
    for line in found.lines:
        row = _line(line)
        memo = f"Weftwork {found.legal_entity} {found.period} {row.engagement_code} {row.account}"
        writer.writerow(
            (
                row.journal_id,
                status,
                found.legal_entity,
                found.period,
                posting.isoformat() if posting else "",
                row.currency,
                row.account_code,
                row.account,
                row.account_name,
                row.engagement_code,
                row.engagement_id,
                f"{row.debit.amount:f}",
                f"{row.credit.amount:f}",
                memo,
            )
        )
    return out.getvalue()


@strawberry.type
class JournalQueries:
    @strawberry.field(description="Every configured legal entity (any signed-in caller).")
    def legal_entities(self, info: Info) -> list[LegalEntity]:
        _ = info.context.principal  # signed in
        return [
            LegalEntity(
                code=e.code,
                name=e.name,
                country=e.country,
                currencies=list(e.currencies),
                vat_percent=e.vat_percent,
                reverse_charge=e.reverse_charge,
                approval_required=e.approval_required,
            )
            for e in sorted(info.context.settings.legal_entities.values(), key=lambda e: e.code)
        ]

    @strawberry.field(
        description="A period's (YYYY-MM) journal for the ERP; finance and admin, in scope."
    )
    async def journal_export(self, info: Info, legal_entity: str, period: str) -> JournalExport:
        c = info.context
        found = await fetch_export(c.principal, c.settings, c.clients, legal_entity, period)
        posting = date(found.posting_date)
        assert posting is not None
        return JournalExport(
            legal_entity=found.legal_entity,
            period=found.period,
            provisional=found.provisional,
            posting_date=posting,
            lines=[_line(line) for line in found.lines],
        )
