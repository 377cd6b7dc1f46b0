"""The gateway's GraphQL execution alone: CPU per operation, services replaced by canned answers.

    .venv/bin/python -m bench.gateway_cpu [--repeat 50]

Builds the production schema (`gateway.schema.build_schema`, development mode off) over
in-memory stubs that answer each gRPC method at once with the messages the gateway bench seeds
(100 engagements of 25 customers, each with one issued invoice of 5 time lines and a revenue
position), then runs the page of 100 and the engagement view of `bench/gateway_bench.py`
`--repeat` times each and prints the median and least `time.process_time` per operation.
No HTTP, no JWT, no gRPC: what is left is parsing (cached), validation (cached), the gate,
execution and the conversions from protobuf.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from google.type import date_pb2, money_pb2

from bench.gateway_bench import PAGE, VIEW
from gateway.auth import Principal
from gateway.budget import CostBudget
from gateway.gate import Admission
from gateway.loaders import Loaders
from gateway.schema import build_schema
from weftwork.billing.v1 import billing_service_pb2 as billing_pb
from weftwork.customer.v1 import customer_service_pb2 as customer_pb
from weftwork.project.v1 import project_service_pb2 as project_pb
from weftwork.revenue.v1 import revenue_service_pb2 as revenue_pb

ENGAGEMENTS, CUSTOMERS, LINES = 100, 25, 5
ADMIN = Principal(subject="bench", roles=frozenset({"admin"}), entities=None)


def _eur(units: int, nanos: int = 0) -> money_pb2.Money:
    return money_pb2.Money(currency_code="EUR", units=units, nanos=nanos)


def _engagement(n: int) -> project_pb.Engagement:
    return project_pb.Engagement(
        id=f"00000000-0000-0000-0000-{n:012d}",
        code=f"ENG-{n}",
        name=f"Engagement {n}",
        status=project_pb.ENGAGEMENT_STATUS_ACTIVE,
        legal_entity="DE01",
        currency="EUR",
        billing_model=project_pb.BILLING_MODEL_TIME_AND_MATERIALS,
        customer_id=f"c-{n % CUSTOMERS}",
        contract_value=_eur(120_000),
        start_date=date_pb2.Date(year=2026, month=1, day=1),
        end_date=date_pb2.Date(year=2026, month=12, day=31),
        budget_hours="1000",
        approved_hours="40",
        rate_card=[project_pb.RateCardLine(role="dev", bill_rate="150", cost_rate="90")],
        version=1,
    )


def _invoice(n: int) -> billing_pb.Invoice:
    line = billing_pb.InvoiceLine(
        kind=billing_pb.INVOICE_LINE_KIND_TIME,
        description="dev, 8 h",
        quantity="8",
        unit_price=_eur(150),
        amount=_eur(1200),
    )
    return billing_pb.Invoice(
        id=f"i-{n}",
        number=f"DE01-2026-{n:05d}",
        status=billing_pb.INVOICE_STATUS_ISSUED,
        legal_entity="DE01",
        engagement_id=_engagement(n).id,
        customer_id=f"c-{n % CUSTOMERS}",
        currency="EUR",
        issue_date=date_pb2.Date(year=2026, month=12, day=31),
        due_date=date_pb2.Date(year=2027, month=1, day=30),
        lines=[line] * LINES,
        subtotal=_eur(6000),
        tax=_eur(1140),
        tax_rate="0.19",
        total=_eur(7140),
        amount_paid=_eur(0),
        balance=_eur(7140),
        version=2,
    )


def _position(n: int) -> revenue_pb.Position:
    return revenue_pb.Position(
        engagement_id=_engagement(n).id,
        currency="EUR",
        recognized=_eur(6000),
        billed=_eur(6000),
        unbilled_receivable=_eur(0),
        deferred_revenue=_eur(0),
        cost=_eur(3600),
        margin=_eur(2400),
        margin_percent="40.0",
        percent_complete="4.0",
    )


class _Stub:
    """Each method answers at once with a canned message."""

    def __init__(self, **methods: Callable[[Any], Any]) -> None:
        for name, answer in methods.items():
            setattr(self, name, self._answering(answer))

    @staticmethod
    def _answering(answer: Callable[[Any], Any]) -> Callable[[Any], Awaitable[Any]]:
        async def method(request: Any, **_: Any) -> Any:
            return answer(request)

        return method


class CannedClients:
    def __init__(self) -> None:
        engagements = [_engagement(n) for n in range(ENGAGEMENTS)]
        by_id = {e.id: e for e in engagements}
        invoices = {e.id: _invoice(n) for n, e in enumerate(engagements)}
        positions = {e.id: _position(n) for n, e in enumerate(engagements)}
        customers = {
            f"c-{n}": customer_pb.Customer(id=f"c-{n}", name=f"Customer {n}", country="DE")
            for n in range(CUSTOMERS)
        }
        self.project = _Stub(
            ListEngagements=lambda r: project_pb.ListEngagementsResponse(
                engagements=engagements[: r.page_size]
            ),
            BatchGetEngagements=lambda r: project_pb.BatchGetEngagementsResponse(
                engagements=[by_id[i] for i in r.ids if i in by_id]
            ),
        )
        self.billing = _Stub(
            BatchGetInvoicesByEngagement=lambda r: billing_pb.BatchGetInvoicesByEngagementResponse(
                engagements=[
                    billing_pb.EngagementInvoices(engagement_id=i, set_up=True, invoices=[v])
                    for i in r.engagement_ids
                    if (v := invoices.get(i))
                ]
            )
        )
        self.revenue = _Stub(
            BatchGetPositions=lambda r: revenue_pb.BatchGetPositionsResponse(
                positions=[positions[i] for i in r.engagement_ids if i in positions]
            )
        )
        self.customer = _Stub(
            BatchGetCustomers=lambda r: customer_pb.BatchGetCustomersResponse(
                customers=[customers[i] for i in r.ids if i in customers]
            )
        )
        self.first_engagement = engagements[0].id


class CannedContext:
    """What the schema reads of gateway.context.Context: a principal and fresh loaders."""

    def __init__(self, clients: CannedClients, principal: Principal = ADMIN) -> None:
        self.clients = clients
        self.principal = principal
        self.loaders = Loaders(clients)  # type: ignore[arg-type]
        self.request = self.response = None


def schema() -> Any:
    admission = Admission(
        max_cost=100_000,
        budget=CostBudget(10**9),
        hide_suggestions=True,
        socket_turns=asyncio.Semaphore(1),
    )
    return build_schema(dev_mode=False, admission=admission)


async def cpu_ms(
    document: str, variables: dict[str, Any] | None, repeat: int
) -> tuple[float, float]:
    """(median, least) CPU milliseconds of one execution of `document`: on a shared machine
    the least is the steadier figure (a neighbour's load only ever adds)."""
    built, clients = schema(), CannedClients()
    used = []
    for _ in range(repeat + 3):  # the first few fill the parser and validation caches
        started = time.process_time()
        result = await built.execute(
            document, variable_values=variables, context_value=CannedContext(clients)
        )
        used.append(time.process_time() - started)
        if result.errors:
            raise RuntimeError(result.errors)
    return statistics.median(used[3:]) * 1000, min(used[3:]) * 1000


async def main(repeat: int) -> None:
    view_id = CannedClients().first_engagement
    page = await cpu_ms(PAGE, None, repeat)
    view = await cpu_ms(VIEW, {"id": view_id}, repeat)
    print(
        f"CPU ms per operation, median / least of {repeat}: page of 100 "
        f"{page[0]:.1f} / {page[1]:.1f}; engagement view {view[0]:.2f} / {view[1]:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_cpu")
    parser.add_argument("--repeat", type=int, default=50)
    asyncio.run(main(parser.parse_args().repeat))
