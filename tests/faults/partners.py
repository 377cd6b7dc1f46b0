"""The connect side of the workload: a partner system sends signed opportunity.won webhooks
(Standard Webhooks) through connect's gRPC API, as the gateway's POST /hooks/{source} passes
them on, and a partner's endpoint receives Weftwork's billing events as signed webhooks.

The checks after the run: every webhook sent is one receipt, processed once into one
engagement; every billing event the endpoint subscribes to was delivered at least once."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field

import asyncpg

from tests.e2e.connect.hooks import standard_body, standard_headers, won_data
from tests.e2e.connect.receivers import Receiver
from tests.faults.checker import Findings
from tests.faults.cluster import Platform
from tests.faults.rpc import Caller
from tests.support import eventually
from weftwork.connect.v1 import connect_service_pb2 as pb
from weftwork.connect.v1 import connect_service_pb2_grpc as connect_grpc

SOURCE = "faultline-crm"
PATH = "/faultline/events"
OUTBOUND_TYPES = ("weftwork.billing.invoice.issued.v1", "weftwork.billing.payment.recorded.v1")
HOOKS_PER_BATCH = 5


@dataclass
class Partners:
    platform: Platform
    rng: random.Random
    call: Caller
    receiver: Receiver = field(default_factory=Receiver)
    sent: dict[str, str] = field(default_factory=dict)  # webhook id: opportunity id
    endpoint_id: str = ""
    _secret: str = ""

    def __post_init__(self) -> None:
        self.connect = connect_grpc.ConnectServiceStub(self.platform.channel("connect"))

    async def set_up(self) -> None:
        await self.receiver.server.start()
        created = await self.call(
            self.connect.CreateInboundSource,
            pb.CreateInboundSourceRequest(name=SOURCE, kind=pb.SOURCE_KIND_STANDARD_WEBHOOKS),
            what="CreateInboundSource",
        )
        self._secret = created.secret
        endpoint = await self.call(
            self.connect.CreateWebhookEndpoint,
            pb.CreateWebhookEndpointRequest(
                url=self.receiver.url + PATH, event_types=OUTBOUND_TYPES, description="faults"
            ),
            what="CreateWebhookEndpoint",
        )
        self.endpoint_id = endpoint.endpoint.id
        self.receiver.secrets[PATH] = endpoint.secret

    async def close(self) -> None:
        await self.receiver.server.stop()

    async def round(self) -> None:
        """A batch of won opportunities; a retry sends the same webhook ids (deduplicated)."""
        hooks = []
        for _ in range(HOOKS_PER_BATCH):
            opportunity = f"CRM-{self.rng.randrange(10**12):012d}"
            webhook_id = f"msg_{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
            body = standard_body(won_data(opportunity))
            headers = standard_headers(
                self._secret, body, webhook_id=webhook_id, at=dt.datetime.now(dt.UTC)
            )
            self.sent[webhook_id] = opportunity
            hooks.append(
                pb.ReceiveWebhookRequest(
                    source=SOURCE,
                    method="POST",
                    url=f"https://gateway.test/hooks/{SOURCE}",
                    headers=[pb.HttpHeader(name=k, value=v) for k, v in headers.items()],
                    body=body,
                )
            )
        answer = await self.call(
            self.connect.ReceiveWebhooks, pb.ReceiveWebhooksRequest(hooks=hooks), what="hooks"
        )
        refused = [a.http_status for a in answer.answers if a.http_status != 202]
        assert not refused, f"connect refused webhooks: {refused}"


async def settle_partners(platform: Platform, partners: Partners, within: float = 120) -> None:
    """After the drain (connect's consumers caught up): nothing pending in connect, every
    receipt processed and every delivery made (polled, bounded)."""
    db = await asyncpg.connect(platform.database_url("connect"))
    try:

        async def pending() -> int:
            return int(
                await db.fetchval(
                    "SELECT (SELECT count(*) FROM receipts WHERE status = 'PENDING')"
                    " + (SELECT count(*) FROM deliveries WHERE status = 'PENDING')"
                )
            )

        await eventually(pending, until=lambda n: n == 0, within=within, what="connect idle")
    finally:
        await db.close()


async def check_partners(
    partners: Partners, db: dict[str, asyncpg.Connection], found: Findings
) -> None:
    """Inbound exactly once (receipt, engagement); outbound at least once (received)."""
    rows = await db["connect"].fetch(
        "SELECT event_id, status, engagement_id FROM receipts WHERE source = $1", SOURCE
    )
    receipts: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        receipts.setdefault(row["event_id"], []).append(row)
    sent = set(partners.sent)
    missing = sent - set(receipts)
    found.count(found.lost, "inbound webhooks without a receipt", len(missing), [*missing][:3])
    unprocessed = [r for k in sent & set(receipts) for r in receipts[k] if not r["engagement_id"]]
    found.count(found.lost, "inbound receipts not processed", len(unprocessed), unprocessed[:3])
    twice = [k for k, rs in receipts.items() if len(rs) > 1]
    found.count(found.duplicated, "inbound webhooks stored twice", len(twice), twice[:3])
    engagements = await db["project"].fetch(
        "SELECT opportunity_id, count(*) AS n FROM engagements"
        " WHERE opportunity_system = $1 GROUP BY 1",
        SOURCE,
    )
    made = {r["opportunity_id"]: r["n"] for r in engagements}
    opportunities = set(partners.sent.values())
    found.count(
        found.lost, "inbound opportunities without an engagement", len(opportunities - set(made))
    )
    doubled = [o for o, n in made.items() if n > 1]
    found.count(found.duplicated, "inbound opportunities made twice", len(doubled), doubled[:3])
    found.deliveries["connect inbound"] = (len(sent), len(sent) - len(missing) - len(unprocessed))
    await _check_outbound(partners, db, found)


async def _check_outbound(
    partners: Partners, db: dict[str, asyncpg.Connection], found: Findings
) -> None:
    events = {
        str(r["id"])
        for r in await db["billing"].fetch(
            "SELECT id FROM outbox WHERE subject = ANY($1::text[])", list(OUTBOUND_TYPES)
        )
    }
    received = {r.webhook_id for r in partners.receiver.on(PATH) if r.verified}
    missing = events - received
    found.count(found.lost, "outbound events never delivered", len(missing), [*missing][:3])
    forged = len([r for r in partners.receiver.on(PATH) if not r.verified])
    found.count(found.lost, "outbound deliveries failing verification", forged)
    again = len(partners.receiver.on(PATH)) - len(received)
    if again > 0:
        found.notes.append(f"outbound: {again} deliveries made again (at least once)")
    found.deliveries["connect outbound"] = (len(events), len(events & received))
