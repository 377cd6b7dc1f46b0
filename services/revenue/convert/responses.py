"""Revenue read models -> the protobuf messages of its responses (and of its events)."""

from __future__ import annotations

from decimal import Decimal

from mesh.grpc.convert import date_to_proto, money_to_proto, timestamp_to_proto
from services.revenue.domain.accounts import ChartOfAccounts
from services.revenue.domain.export import JournalExport
from services.revenue.domain.facts import BillingModel
from services.revenue.domain.journal import Basis, EntryKind, JournalEntry
from services.revenue.domain.periods import PeriodState, PeriodStatus
from services.revenue.domain.position import Position
from services.revenue.domain.reports import CurrencyPortfolio, ReportRow, TrialBalance
from weftwork.project.v1 import project_service_pb2 as project_pb
from weftwork.revenue.v1 import events_pb2
from weftwork.revenue.v1 import revenue_service_pb2 as pb

BILLING_MODELS = {
    BillingModel.TIME_AND_MATERIALS: project_pb.BILLING_MODEL_TIME_AND_MATERIALS,
    BillingModel.FIXED_FEE: project_pb.BILLING_MODEL_FIXED_FEE,
    BillingModel.MILESTONE: project_pb.BILLING_MODEL_MILESTONE,
}
KINDS = {
    EntryKind.RECOGNITION: pb.JOURNAL_ENTRY_KIND_RECOGNITION,
    EntryKind.INVOICE: pb.JOURNAL_ENTRY_KIND_INVOICE,
    EntryKind.CREDIT_NOTE: pb.JOURNAL_ENTRY_KIND_CREDIT_NOTE,
    EntryKind.PAYMENT: pb.JOURNAL_ENTRY_KIND_PAYMENT,
}
BASES = {
    Basis.TIME: events_pb2.RECOGNITION_BASIS_TIME,
    Basis.EXPENSE: events_pb2.RECOGNITION_BASIS_EXPENSE,
    Basis.PERCENT_COMPLETE: events_pb2.RECOGNITION_BASIS_PERCENT_COMPLETE,
    Basis.COMPLETION: events_pb2.RECOGNITION_BASIS_COMPLETION,
    Basis.MILESTONE: events_pb2.RECOGNITION_BASIS_MILESTONE,
}
STATUSES = {PeriodStatus.OPEN: pb.PERIOD_STATUS_OPEN, PeriodStatus.CLOSED: pb.PERIOD_STATUS_CLOSED}


def _percent(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def position_to_proto(p: Position) -> pb.Position:
    return pb.Position(
        engagement_id=str(p.engagement_id),
        legal_entity=p.legal_entity,
        currency=p.currency,
        billing_model=BILLING_MODELS[p.billing_model],
        contract_value=money_to_proto(p.contract_value),
        percent_complete=_percent(p.percent_complete),
        recognized=money_to_proto(p.recognized),
        billed=money_to_proto(p.billed),
        unbilled_receivable=money_to_proto(p.unbilled_receivable),
        deferred_revenue=money_to_proto(p.deferred_revenue),
        cost=money_to_proto(p.cost),
        margin=money_to_proto(p.margin),
        margin_percent=_percent(p.margin_percent),
        backlog=money_to_proto(p.backlog),
        version=p.version,
        update_time=timestamp_to_proto(p.updated_at),
    )


def entry_to_proto(e: JournalEntry, chart: ChartOfAccounts) -> pb.JournalEntry:
    return pb.JournalEntry(
        id=str(e.id),
        legal_entity=e.legal_entity,
        engagement_id=str(e.engagement_id),
        kind=KINDS[e.kind],
        description=e.description,
        posting_date=date_to_proto(e.posting_date),
        service_date=date_to_proto(e.service_date),
        period=str(e.period),
        currency=e.currency,
        lines=[
            pb.JournalLine(
                account_code=chart.code(line.account),
                account_name=chart.name(line.account),
                debit=money_to_proto(line.debit),
                credit=money_to_proto(line.credit),
            )
            for line in e.lines
        ],
        source_event_id=str(e.source_event_id) if e.source_event_id else "",
        create_time=timestamp_to_proto(e.created_at),
    )


def trial_balance_to_proto(b: TrialBalance, chart: ChartOfAccounts) -> pb.CurrencyTrialBalance:
    return pb.CurrencyTrialBalance(
        currency=b.currency,
        lines=[
            pb.TrialBalanceLine(
                account_code=chart.code(a.account),
                account_name=chart.name(a.account),
                debit=money_to_proto(a.debit),
                credit=money_to_proto(a.credit),
                balance=money_to_proto(a.balance),
            )
            for a in sorted(b.accounts, key=lambda a: chart.code(a.account))
        ],
        total_debit=money_to_proto(b.total_debit),
        total_credit=money_to_proto(b.total_credit),
    )


def report_row_to_proto(r: ReportRow) -> pb.RevenueReportRow:
    return pb.RevenueReportRow(
        key=r.key,
        label=r.label,
        currency=r.currency,
        recognized=money_to_proto(r.recognized),
        cost=money_to_proto(r.cost),
        margin=money_to_proto(r.margin),
    )


def portfolio_to_proto(p: CurrencyPortfolio) -> pb.CurrencyPortfolio:
    return pb.CurrencyPortfolio(
        currency=p.currency,
        engagements=p.engagements,
        backlog=money_to_proto(p.backlog),
        recognized=money_to_proto(p.recognized),
        billed=money_to_proto(p.billed),
        unbilled_receivable=money_to_proto(p.unbilled_receivable),
        deferred_revenue=money_to_proto(p.deferred_revenue),
        cost=money_to_proto(p.cost),
        margin=money_to_proto(p.margin),
        margin_percent=_percent(p.margin_percent),
    )


def period_to_proto(p: PeriodState) -> pb.Period:
    period = pb.Period(
        legal_entity=p.legal_entity,
        period=str(p.period),
        status=STATUSES[p.status],
        version=p.version,
    )
    if p.closed_at is not None:
        period.close_time.CopyFrom(timestamp_to_proto(p.closed_at))
    return period


def export_to_proto(x: JournalExport, chart: ChartOfAccounts) -> pb.GetJournalExportResponse:
    return pb.GetJournalExportResponse(
        legal_entity=x.legal_entity,
        period=str(x.period),
        provisional=x.provisional,
        posting_date=date_to_proto(x.period.last_day),
        lines=[
            pb.JournalExportLine(
                journal_id=line.journal_id,
                currency=line.currency,
                engagement_id=str(line.engagement_id),
                engagement_code=line.engagement_code,
                account=line.account.value,
                account_code=line.account_code,
                account_name=chart.name(line.account),
                debit=money_to_proto(line.debit),
                credit=money_to_proto(line.credit),
            )
            for line in x.lines
        ],
    )
