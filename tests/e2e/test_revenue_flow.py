"""The revenue service as a real OS process: engagement events in over NATS, the position
and the journal out over gRPC, with the chart of accounts it was configured with."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import grpc
import nats
from google.protobuf.message import Message

from mesh.events.streams import ensure_stream
from mesh.grpc.convert import money_from_proto
from services.revenue.domain.facts import BillingModel
from tests.conftest import Stack
from tests.e2e.processes import ServiceProcess
from tests.support import eventually, publish_event, settings_for
from tests.unit.revenue_fakes import Engagement
from weftwork.revenue.v1 import revenue_service_pb2 as pb
from weftwork.revenue.v1 import revenue_service_pb2_grpc as pb_grpc

D = dt.date


async def test_engagement_events_become_a_position_and_a_journal(
    stack: Stack, module_nats: str, tmp_path: Path
) -> None:
    _, env = settings_for(
        stack.database_url,
        module_nats,
        tmp_path,
        WEFTWORK_REVENUE_ACCOUNT_CODES="revenue=4100,cash=1010",
    )
    nc = await nats.connect(module_nats)
    js = nc.jetstream()
    await ensure_stream(js, "project")
    await ensure_stream(js, "billing")
    service = ServiceProcess("revenue", env, tmp_path / "revenue.log")
    service.start()
    try:
        await eventually(service.serving, within=60, what="revenue SERVING")
        async with grpc.aio.insecure_channel(service.target) as channel:
            stub = pb_grpc.RevenueServiceStub(channel)

            async def position() -> pb.Position | None:
                try:
                    answer: pb.GetPositionResponse = await stub.GetPosition(
                        pb.GetPositionRequest(engagement_id=str(e.id)), timeout=2
                    )
                except grpc.aio.AioRpcError:
                    return None  # not serving yet, or not set up yet
                return answer.position

            async def publish(service_name: str, event: tuple[str, Message]) -> None:
                subject, message = event
                await publish_event(
                    js, service=service_name, subject=subject, aggregate_id=str(e.id),
                    aggregate_version=message.version, message=message,  # type: ignore[attr-defined]
                )  # fmt: skip

            # FIXED_FEE, GBP 10,000.00 over 80 budget hours, cost 50.00/h.
            e = Engagement(
                BillingModel.FIXED_FEE, "GBP", "UK01", contract_value="10000.00", budget_hours="80"
            )
            invoice = uuid.uuid4()
            # 20 h: 20/80 = 25 % -> 2,500.00 (Dr unbilled). 12 h more: 32/80 = 40 % -> target
            # 4,000.00, catch-up 1,500.00. Unbilled 4,000.00. Cost 32 x 50.00 = 1,600.00.
            await publish("project", e.activated())
            await publish("project", e.time(("t1", D(2025, 4, 10), "20", "150", "50", True)))
            await publish("project", e.time(("t2", D(2025, 4, 24), "12", "150", "50", True)))
            await eventually(position, until=lambda p: p is not None and p.version == 3,
                             within=60, what="two recognitions")  # fmt: skip
            # Invoice 5,000.00 + VAT 1,000.00: Dr AR 6,000 / Cr unbilled 4,000 (all of it),
            # Cr deferred 1,000, Cr VAT 1,000. Then paid in full: Dr cash / Cr AR 6,000.
            await publish("billing", e.issued(invoice, D(2025, 4, 30), "5000.00", "1000.00"))
            await publish("billing", e.paid(invoice, "pay-1", D(2025, 5, 15), "6000.00"))
            found = await eventually(position, until=lambda p: p is not None and p.version == 5,
                                     what="the invoice and the payment")  # fmt: skip
            assert found is not None
            got = {
                f: money_from_proto(getattr(found, f)).amount
                for f in ("recognized", "billed", "unbilled_receivable", "deferred_revenue",
                          "cost", "margin", "backlog")
            }  # fmt: skip
            assert got == {
                "recognized": Decimal("4000"), "billed": Decimal("5000"),
                "unbilled_receivable": Decimal("0"), "deferred_revenue": Decimal("1000"),
                "cost": Decimal("1600"), "margin": Decimal("2400"), "backlog": Decimal("6000"),
            }  # fmt: skip
            assert (found.percent_complete, found.margin_percent) == ("40.00", "60.00")

            journal = await stub.GetJournal(pb.GetJournalRequest(engagement_id=str(e.id)))
            assert [
                [(ln.account_code, str(money_from_proto(ln.debit).amount),
                  str(money_from_proto(ln.credit).amount)) for ln in x.lines]
                for x in journal.entries
            ] == [
                [("1200", "2500", "0"), ("4100", "0", "2500")],
                [("1200", "1500", "0"), ("4100", "0", "1500")],
                [("1100", "6000", "0"), ("1200", "0", "4000"), ("2100", "0", "1000"),
                 ("2200", "0", "1000")],
                [("1010", "6000", "0"), ("1100", "0", "6000")],
            ]  # fmt: skip
        assert service.stop() == 0  # health NOT_SERVING, drain, clean exit
    finally:
        service.ensure_stopped()
        await nc.close()
