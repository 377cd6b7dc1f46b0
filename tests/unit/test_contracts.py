"""The committed contracts: generated code is current, importable, and covers the catalogue."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

ROOT = Path(__file__).resolve().parents[2]

# DESIGN.md §2 event catalogue: subject -> payload message in weftwork.<domain>.v1.events_pb2.
EVENTS = {
    "weftwork.customer.customer.created.v1": "CustomerCreated",
    "weftwork.customer.customer.updated.v1": "CustomerUpdated",
    "weftwork.customer.customer.merged.v1": "CustomerMerged",
    "weftwork.project.engagement.activated.v1": "EngagementActivated",
    "weftwork.project.engagement.completed.v1": "EngagementCompleted",
    "weftwork.project.milestone.completed.v1": "MilestoneCompleted",
    "weftwork.project.time_entry.approved.v1": "TimeEntriesApproved",
    "weftwork.project.expense.approved.v1": "ExpenseApproved",
    "weftwork.project.time_entry.adjusted.v1": "TimeEntryAdjusted",
    "weftwork.project.engagement.amended.v1": "EngagementAmended",
    "weftwork.project.engagement.purchase_order_set.v1": "PurchaseOrderNumberSet",
    "weftwork.billing.invoice.issued.v1": "InvoiceIssued",
    "weftwork.billing.invoice.voided.v1": "InvoiceVoided",
    "weftwork.billing.payment.recorded.v1": "PaymentRecorded",
    "weftwork.revenue.revenue.recognized.v1": "RevenueRecognized",
    "weftwork.revenue.period.closed.v1": "PeriodClosed",
    # DESIGN.md §7 (connect).
    "weftwork.connect.receipt.accepted.v1": "ReceiptAccepted",
    "weftwork.connect.exception.opened.v1": "ExceptionOpened",
    "weftwork.connect.exception.resolved.v1": "ExceptionResolved",
    "weftwork.connect.delivery.failed.v1": "DeliveryFailed",
    "weftwork.connect.endpoint.disabled.v1": "EndpointDisabled",
}

# Writes that move money take an idempotency key (DESIGN.md §2, gRPC): domain, request.
MONEY_WRITES = [
    ("project", "CreateEngagementFromOpportunityRequest"),
    ("project", "SubmitTimeRequest"),
    ("project", "ApproveTimeRequest"),
    ("project", "SubmitExpenseRequest"),
    ("project", "ApproveExpensesRequest"),
    ("project", "CompleteMilestoneRequest"),
    ("project", "CompleteEngagementRequest"),
    ("project", "AdjustTimeRequest"),
    ("project", "AmendEngagementRequest"),
    ("billing", "RunBillingRequest"),
    ("billing", "IssueInvoiceRequest"),
    ("billing", "VoidInvoiceRequest"),
    ("billing", "RecordPaymentRequest"),
]

SUBJECT = re.compile(
    r"^weftwork\.(customer|project|billing|revenue|connect)\.[a-z_]+\.[a-z_]+\.v1$"
)
# "// Subject `weftwork.x.y.z.v1`: ..." followed (after more comment lines) by "message Name {".
DOCUMENTED_SUBJECT = re.compile(r"// Subject `([^`]+)`.*?\nmessage (\w+) \{", re.DOTALL)


def load(module: str, name: str) -> type[Message]:
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type)
    assert issubclass(cls, Message), f"{module}.{name}"
    return cls


def generated_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in (ROOT / "weftwork").rglob("*_pb2*.py")
    )


def test_generated_code_matches_the_protos() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "proto.py"), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_modules_cover_every_domain() -> None:
    for domain in ("customer", "project", "billing", "revenue", "connect"):
        package = f"weftwork.{domain}.v1"
        assert f"{package}.{domain}_service_pb2" in generated_modules()
        assert f"{package}.{domain}_service_pb2_grpc" in generated_modules()
        assert f"{package}.events_pb2" in generated_modules()


@pytest.mark.parametrize("module", generated_modules())
def test_generated_module_imports(module: str) -> None:
    importlib.import_module(module)


@pytest.mark.parametrize(("subject", "name"), sorted(EVENTS.items()))
def test_every_catalogued_event_has_a_versioned_message(subject: str, name: str) -> None:
    match = SUBJECT.fullmatch(subject)
    assert match, f"{subject} is not weftwork.<domain>.<entity>.<event>.v1"
    cls = load(f"weftwork.{match.group(1)}.v1.events_pb2", name)
    assert cls.DESCRIPTOR.full_name == f"weftwork.{match.group(1)}.v1.{name}"
    assert cls.DESCRIPTOR.fields_by_name["version"].type == FieldDescriptor.TYPE_INT64
    aggregate = cls.DESCRIPTOR.fields[0]  # the aggregate id comes first, by convention
    assert aggregate.type == FieldDescriptor.TYPE_STRING
    assert aggregate.name.endswith("_id") or aggregate.name == "legal_entity"


def test_event_catalogue_matches_the_subjects_documented_in_the_protos() -> None:
    documented = {}
    for proto in sorted((ROOT / "proto" / "weftwork").glob("*/v1/events.proto")):
        domain = proto.parent.parent.name
        for subject, message in DOCUMENTED_SUBJECT.findall(proto.read_text()):
            assert subject.startswith(f"weftwork.{domain}."), subject
            documented[subject] = message
    assert documented == EVENTS


@pytest.mark.parametrize(("domain", "name"), MONEY_WRITES)
def test_money_moving_requests_take_an_idempotency_key(domain: str, name: str) -> None:
    request = load(f"weftwork.{domain}.v1.{domain}_service_pb2", name)
    assert request.DESCRIPTOR.fields_by_name["idempotency_key"].type == FieldDescriptor.TYPE_STRING


def test_update_customer_tells_unset_fields_from_empty_ones() -> None:
    from weftwork.customer.v1 import customer_service_pb2 as pb

    request = pb.UpdateCustomerRequest(customer_id="c-1", name="Acme")
    decoded = pb.UpdateCustomerRequest.FromString(request.SerializeToString())
    assert decoded.HasField("name")
    assert not decoded.HasField("domain")  # proto3 optional: unset differs from ""
