"""A page prefetches what its engagements' children ask for, one batch call per service, and a
failed batch still fails each child field at its own path (not the page)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.gateway_bench import PAGE
from bench.gateway_cpu import CannedClients, CannedContext, schema
from gateway.errors import Unavailable


def counted(clients: CannedClients) -> Counter[str]:
    calls: Counter[str] = Counter()
    for service in ("project", "billing", "revenue", "customer"):
        stub = getattr(clients, service)
        for name, method in list(vars(stub).items()):

            def counting(request: Any, _m: Any = method, _n: str = name, **kw: Any) -> Any:
                calls[_n] += 1
                return _m(request, **kw)

            setattr(stub, name, counting)
    return calls


async def test_a_page_calls_each_service_once() -> None:
    clients = CannedClients()
    calls = counted(clients)
    result = await schema().execute(PAGE, context_value=CannedContext(clients))
    assert result.errors is None
    assert len(result.data["engagements"]["edges"]) == 100
    assert calls == {
        "ListEngagements": 1,
        "BatchGetCustomers": 1,
        "BatchGetInvoicesByEngagement": 1,
        "BatchGetPositions": 1,
    }


async def test_a_failed_batch_fails_the_child_at_its_path() -> None:
    """As without the prefetch: the first engagement's `invoices` (non-null, up to the
    non-null page) carries the error; the page is null, not refused as a whole."""
    clients = CannedClients()

    async def unavailable(request: Any, **_: Any) -> Any:
        raise Unavailable("the billing service is unavailable; retry later")

    clients.billing.BatchGetInvoicesByEngagement = unavailable  # type: ignore[attr-defined]
    for document, path in [
        (
            "query { engagements(first: 3) { edges { node { id setup { billing } } } } }",
            ["engagements", "edges", 0, "node", "setup"],
        ),
        (
            'query { engagement(id: "00000000-0000-0000-0000-000000000001") { invoices { id } } }',
            ["engagement", "invoices"],
        ),
    ]:
        result = await schema().execute(document, context_value=CannedContext(clients))
        assert [(e.path, e.extensions) for e in result.errors or ()] == [
            (path, {"code": "UNAVAILABLE"})
        ]
