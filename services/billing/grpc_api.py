"""Thin gRPC servicer: proto -> use case (in one transaction) -> proto."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message

from mesh.errors import InvalidArgument
from mesh.grpc.convert import money_to_proto
from services.billing import convert, handlers, queries
from services.billing.handlers import BillingRepository, InvoiceFilter, LegalEntities, Transact
from weftwork.billing.v1 import billing_service_pb2 as pb
from weftwork.billing.v1 import billing_service_pb2_grpc as pb_grpc

R = TypeVar("R", bound=Message)
MAX_IDEMPOTENCY_KEY = 128


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class BillingServicer(pb_grpc.BillingServiceServicer):
    def __init__(
        self,
        transact: Transact[Any],
        read: Transact[Any],
        entities: LegalEntities,
        today: Callable[[], dt.date] = _today,
    ) -> None:
        self.transact = transact
        self.read = read  # one snapshot, so an invoice's totals and lines always agree
        self.entities = entities
        self.today = today

    async def _once(
        self,
        request: Message,
        response_type: type[R],
        work: Callable[[BillingRepository], Awaitable[R]],
    ) -> R:
        """Runs a money-moving write once per idempotency key; a retry gets the first answer."""
        key: str = getattr(request, "idempotency_key")  # noqa: B009 (every money write has it)
        if len(key) > MAX_IDEMPOTENCY_KEY:
            raise InvalidArgument.one(
                "idempotency_key", f"at most {MAX_IDEMPOTENCY_KEY} characters"
            )
        if not key:
            response: R = await self.transact(work)
            return response
        method = type(request).DESCRIPTOR.name
        unkeyed = type(request)()
        unkeyed.CopyFrom(request)
        unkeyed.ClearField("idempotency_key")
        digest = hashlib.sha256(unkeyed.SerializeToString(deterministic=True)).digest()

        async def once(repo: BillingRepository) -> R:
            earlier = await repo.claim_request(method, key, digest)
            if earlier is None:
                response = await work(repo)
                await repo.keep_response(method, key, response.SerializeToString())
                return response
            earlier_digest, earlier_response = earlier
            if earlier_digest != digest:
                raise InvalidArgument.one(
                    "idempotency_key", "was already used for a different request"
                )
            assert earlier_response is not None, "kept in the transaction that claimed the key"
            return response_type.FromString(earlier_response)

        answer: R = await self.transact(once)
        return answer

    async def RunBilling(
        self, request: pb.RunBillingRequest, context: Any
    ) -> pb.RunBillingResponse:
        cutoff = convert.parse_date(request.cutoff, "cutoff")
        engagement_id = (
            convert.parse_id(request.engagement_id, "engagement_id", "engagement")
            if request.engagement_id
            else None
        )

        async def work(repo: BillingRepository) -> pb.RunBillingResponse:
            drafts = await handlers.run_billing(
                repo,
                self.entities,
                cutoff=cutoff,
                engagement_id=engagement_id,
                legal_entity=request.legal_entity or None,
            )
            return pb.RunBillingResponse(invoices=[convert.invoice_to_proto(d) for d in drafts])

        return await self._once(request, pb.RunBillingResponse, work)

    async def IssueInvoice(
        self, request: pb.IssueInvoiceRequest, context: Any
    ) -> pb.IssueInvoiceResponse:
        invoice_id = convert.parse_id(request.id, "id")
        issue_date = convert.parse_date(request.issue_date, "issue_date")

        async def work(repo: BillingRepository) -> pb.IssueInvoiceResponse:
            issued = await handlers.issue_invoice(repo, self.entities, invoice_id, issue_date)
            return pb.IssueInvoiceResponse(invoice=convert.invoice_to_proto(issued))

        return await self._once(request, pb.IssueInvoiceResponse, work)

    async def VoidInvoice(
        self, request: pb.VoidInvoiceRequest, context: Any
    ) -> pb.VoidInvoiceResponse:
        invoice_id = convert.parse_id(request.id, "id")

        async def work(repo: BillingRepository) -> pb.VoidInvoiceResponse:
            voided = await handlers.void_invoice(repo, invoice_id, request.reason, self.today())
            return pb.VoidInvoiceResponse(invoice=convert.invoice_to_proto(voided))

        return await self._once(request, pb.VoidInvoiceResponse, work)

    async def RecordPayment(
        self, request: pb.RecordPaymentRequest, context: Any
    ) -> pb.RecordPaymentResponse:
        invoice_id = convert.parse_id(request.invoice_id, "invoice_id")
        amount = convert.parse_money(request.amount, "amount")
        received_on = convert.parse_date(request.received_on, "received_on")

        async def work(repo: BillingRepository) -> pb.RecordPaymentResponse:
            invoice, payment = await handlers.record_payment(
                repo, invoice_id, amount, received_on, request.reference
            )
            return pb.RecordPaymentResponse(
                invoice=convert.invoice_to_proto(invoice),
                payment=convert.payment_to_proto(payment),
            )

        return await self._once(request, pb.RecordPaymentResponse, work)

    async def GetInvoice(
        self, request: pb.GetInvoiceRequest, context: Any
    ) -> pb.GetInvoiceResponse:
        invoice_id = convert.parse_id(request.id, "id")
        found = await self.read(lambda repo: queries.get_invoice(repo, invoice_id))
        return pb.GetInvoiceResponse(invoice=convert.invoice_to_proto(found))

    async def BatchGetInvoices(
        self, request: pb.BatchGetInvoicesRequest, context: Any
    ) -> pb.BatchGetInvoicesResponse:
        ids = convert.parse_ids(list(request.ids), "ids")
        found, missing = await self.read(lambda repo: queries.batch_get_invoices(repo, ids))
        return pb.BatchGetInvoicesResponse(
            invoices=[convert.invoice_to_proto(i) for i in found],
            missing_ids=[str(i) for i in missing],
        )

    async def ListInvoices(
        self, request: pb.ListInvoicesRequest, context: Any
    ) -> pb.ListInvoicesResponse:
        if request.status and request.status not in convert.STATUS_FROM_PROTO:
            raise InvalidArgument.one("status", f"{request.status} is not an invoice status")
        where = InvoiceFilter(
            status=convert.STATUS_FROM_PROTO.get(request.status),
            legal_entity=request.legal_entity or None,
            legal_entities=tuple(request.legal_entities),
            engagement_id=convert.parse_id(request.engagement_id, "engagement_id", "engagement")
            if request.engagement_id
            else None,
        )
        after = convert.decode_cursor(request.page_token)
        rows, cursor = await self.read(
            lambda repo: queries.list_invoices(
                repo, page_size=request.page_size, after=after, where=where
            )
        )
        return pb.ListInvoicesResponse(
            invoices=[convert.invoice_to_proto(i) for i in rows],
            next_page_token=convert.encode_cursor(cursor),
        )

    async def BatchGetInvoicesByEngagement(
        self, request: pb.BatchGetInvoicesByEngagementRequest, context: Any
    ) -> pb.BatchGetInvoicesByEngagementResponse:
        ids = convert.parse_ids(list(request.engagement_ids), "engagement_ids", "engagement")
        found = await self.read(lambda repo: queries.invoices_by_engagement(repo, ids))
        return pb.BatchGetInvoicesByEngagementResponse(
            engagements=[
                pb.EngagementInvoices(
                    engagement_id=str(e.engagement_id),
                    set_up=e.set_up,
                    invoices=[convert.invoice_to_proto(i) for i in e.invoices],
                )
                for e in found
            ]
        )

    async def GetUnbilled(
        self, request: pb.GetUnbilledRequest, context: Any
    ) -> pb.GetUnbilledResponse:
        engagement_id = convert.parse_id(request.engagement_id, "engagement_id", "engagement")
        items, total = await self.read(lambda repo: queries.get_unbilled(repo, engagement_id))
        return pb.GetUnbilledResponse(
            engagement_id=str(engagement_id),
            items=[convert.unbilled_to_proto(i) for i in items],
            total=money_to_proto(total),
        )

    async def GetAging(self, request: pb.GetAgingRequest, context: Any) -> pb.GetAgingResponse:
        as_of = convert.parse_date(request.as_of, "as_of")
        report = await self.read(
            lambda repo: queries.get_aging(repo, as_of, request.legal_entity or None)
        )
        return pb.GetAgingResponse(currencies=[convert.aging_to_proto(a) for a in report])
