"""Which domain owns a stream: the only ce-source its consumers accept."""

from __future__ import annotations

import pytest

from mesh.events.streams import DOMAINS, stream_name, stream_owner


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("namespace", ["weftwork", "t0a1b2c3d4e"])
def test_every_stream_is_owned_by_the_domain_it_is_named_after(domain: str, namespace: str) -> None:
    assert stream_owner(stream_name(domain, namespace)) == domain


def test_a_stream_named_otherwise_has_no_owner() -> None:
    with pytest.raises(ValueError, match="not named after"):
        stream_owner("ORDERS")
