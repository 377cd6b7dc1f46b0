"""The fuzz runner: hypothesis-graphql requests against a running gateway, from a process of
its own (generating documents is CPU work; here it does not share the gateway's interpreter).

    python -m tests.e2e.fuzz CONFIG.json

CONFIG: {"url", "tokens", "known_ids", "sdl", "requests", "seed"}. Exits 1, printing the
smallest failing batch hypothesis finds, when any answer is a 5xx, an INTERNAL_SERVER_ERROR, an
error without a code, or later than REQUEST_TIMEOUT; prints one JSON summary line otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import graphql
import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

BATCH = 8  # requests of one example, sent at once
REQUEST_TIMEOUT = 10.0
HOSTILE_NUMBERS = ["NaN", "sNaN", "-Infinity", "1E+999999999", "1e400", "0.0000001", "1" * 70]
# Words the services know (currencies, entities, countries, roles, sources, periods): strings
# from here get requests past the first check more often than random text would.
VOCABULARY = [
    *("USD", "EUR", "GBP", "JPY", "KWD", "US01", "UK01", "DE01", "US", "GB", "DE", "FR"),
    *("consultant", "dev", "salesforce", "hubspot", "travel", "2026-01", "2026-13", ""),
]


def scalars(known_ids: list[str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """Mostly plausible values, so requests get past the first check; hostile ones among them."""
    decimals = st.one_of(
        st.decimals(min_value=0, max_value=10_000, places=2).map(str),
        st.decimals(min_value=0, max_value=24, places=1).map(str),
        st.sampled_from(HOSTILE_NUMBERS),
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.text(max_size=12),
    )
    ids = st.one_of(
        st.sampled_from(known_ids),
        st.sampled_from(known_ids),
        st.uuids().map(str),
        st.text(max_size=40),
    )
    dates = st.one_of(
        st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)).map(dt.date.isoformat),
        st.dates().map(dt.date.isoformat),
        st.text(max_size=12),
    )
    moments = st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat)
    words = st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=30))
    return {
        "String": words.map(nodes.String),
        "Decimal": decimals.map(nodes.String),
        "Date": dates.map(nodes.String),
        "DateTime": moments.map(nodes.String),
        "ID": ids.map(nodes.String),
    }


def roots(schema: graphql.GraphQLSchema) -> list[str]:
    """Every query and mutation field (subscriptions are a socket's, not fuzzed here)."""
    assert schema.query_type is not None and schema.mutation_type is not None
    return sorted({*schema.query_type.fields, *schema.mutation_type.fields})


class Target:
    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url = url
        self.tokens = tokens
        self.sent = 0
        self.codes: Counter[str] = Counter()
        self.client = httpx.Client(timeout=REQUEST_TIMEOUT)

    def send(self, numbered: tuple[int, str]) -> str | None:
        """None when the answer is one a client may get; else what is wrong with it."""
        n, query = numbered
        headers = {"Authorization": self.tokens[n % len(self.tokens)]}
        try:
            response = self.client.post(self.url, json={"query": query}, headers=headers)
        except httpx.TimeoutException:
            return f"no answer within {REQUEST_TIMEOUT} s: {query}"
        if response.status_code >= 500:
            return f"HTTP {response.status_code}: {query}"
        body: dict[str, Any] = response.json()
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            self.codes[str(code)] += 1
            if code in (None, "INTERNAL_SERVER_ERROR"):
                return f"{code}: {error.get('message')} for {query}"
        if not body.get("errors"):
            self.codes["ok"] += 1
        return None


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    schema = graphql.build_schema(config["sdl"])
    custom = scalars(config["known_ids"])
    fields = roots(schema)
    document = st.sampled_from(fields).flatmap(
        lambda f: from_schema(schema, fields=[f], custom_scalars=custom, allow_x00=False)
    )
    target = Target(config["url"], config["tokens"])
    pool = ThreadPoolExecutor(BATCH)

    @settings(
        max_examples=max(1, config["requests"] // BATCH),
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(document, min_size=BATCH, max_size=BATCH))
    def fuzz(queries: list[str]) -> None:
        start = target.sent
        target.sent += len(queries)
        problems = [p for p in pool.map(target.send, enumerate(queries, start)) if p]
        assert not problems, "\n".join(problems)

    if config.get("seed"):
        fuzz = seed(config["seed"])(fuzz)
    started = time.monotonic()
    try:
        fuzz()
    finally:
        pool.shutdown()
        target.client.close()
    summary = {
        "requests": target.sent,
        "root_fields": len(fields),
        "seconds": round(time.monotonic() - started, 1),
        "codes": dict(target.codes),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
