"""Customer resolution and merges (DESIGN.md §3) against an in-memory repository."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.errors import FailedPrecondition, InvalidArgument, NotFound
from services.customer import handlers
from services.customer.domain.model import (
    AccountFacts,
    CustomerCreated,
    CustomerMerged,
    ExternalRef,
    MatchRule,
)
from tests.unit.fakes import FakeCustomerRepository


def facts(
    name: str = "Acme Inc",
    country: str = "DE",
    domain: str = "",
    tax_id: str = "",
    ref: ExternalRef | None = None,
) -> AccountFacts:
    return AccountFacts.parse(name=name, country=country, domain=domain, tax_id=tax_id, ref=ref)


async def test_one_account_seen_through_every_rule_is_one_customer() -> None:
    repo = FakeCustomerRepository()
    first = await handlers.resolve_customer(
        repo,
        facts(
            "Acme GmbH",
            "DE",
            "https://www.acme.de",
            "DE 123-456-789",
            ExternalRef("salesforce", "001"),
        ),
    )
    assert first.matched_by is MatchRule.CREATED
    variants = [
        (facts("ACME GMBH", "DE", ref=ExternalRef("salesforce", "001")), MatchRule.EXTERNAL_REF),
        (facts("Something Else", "DE", tax_id="de123456789"), MatchRule.TAX_ID),
        (facts("Other Name", "FR", domain="http://acme.de/contact"), MatchRule.DOMAIN),
        (facts("acme, gmbh.", "DE"), MatchRule.NAME),
        (facts("Acme", "DE", ref=ExternalRef("hubspot", "77")), MatchRule.NAME),
        (facts("Renamed", "AT", ref=ExternalRef("hubspot", "77")), MatchRule.EXTERNAL_REF),
    ]
    for variant, rule in variants:
        resolution = await handlers.resolve_customer(repo, variant)
        assert (resolution.customer.id, resolution.matched_by) == (first.customer.id, rule)
    assert len(repo.rows) == 1
    assert sorted(repo.refs) == [ExternalRef("hubspot", "77"), ExternalRef("salesforce", "001")]


async def test_the_same_name_in_another_country_is_another_customer() -> None:
    repo = FakeCustomerRepository()
    us = await handlers.resolve_customer(repo, facts("Acme Inc", "US"))
    gb = await handlers.resolve_customer(repo, facts("Acme Ltd", "GB"))
    assert us.customer.id != gb.customer.id
    assert gb.matched_by is MatchRule.CREATED


async def test_tax_id_wins_over_domain_and_name() -> None:
    repo = FakeCustomerRepository()
    by_tax = await handlers.resolve_customer(repo, facts("Alpha", "DE", tax_id="DE1"))
    await handlers.resolve_customer(repo, facts("Beta", "DE", domain="beta.de"))
    found = await handlers.resolve_customer(
        repo, facts("Beta", "DE", domain="beta.de", tax_id="DE1")
    )
    assert (found.customer.id, found.matched_by) == (by_tax.customer.id, MatchRule.TAX_ID)


account_names = st.sampled_from(["Acme Inc", "ACME", "Globex Corp", "Initech LLC", "Umbrella AG"])
countries = st.sampled_from(["US", "GB", "DE"])
domains = st.sampled_from(["", "acme.com", "globex.com", "https://www.initech.io"])
tax_ids = st.sampled_from(["", "DE111", "gb 222", "US-333"])
refs = st.one_of(
    st.none(),
    st.builds(ExternalRef, st.sampled_from(["salesforce", "hubspot"]), st.sampled_from("123")),
)
account_facts = st.builds(facts, account_names, countries, domains, tax_ids, refs)


@settings(max_examples=200, deadline=None)
@given(history=st.lists(account_facts, max_size=6), probe=account_facts)
async def test_resolution_is_idempotent(history: list[AccountFacts], probe: AccountFacts) -> None:
    repo = FakeCustomerRepository()
    for earlier in history:
        await handlers.resolve_customer(repo, earlier)
    first = await handlers.resolve_customer(repo, probe)
    again = await handlers.resolve_customer(repo, probe)
    assert again.customer.id == first.customer.id
    assert again.matched_by is not MatchRule.CREATED
    assert len(repo.rows) == len(
        {e.customer.id for e in repo.events if isinstance(e, CustomerCreated)}
    )


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(min_value=2, max_value=6),
    merges=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=8),
)
async def test_merges_are_always_followed(count: int, merges: list[tuple[int, int]]) -> None:
    repo = FakeCustomerRepository()
    ids = []
    for i in range(count):
        created = await handlers.resolve_customer(
            repo, facts(f"Company {i}", "US", ref=ExternalRef("salesforce", f"acc-{i}"))
        )
        ids.append(created.customer.id)
    survivor_of = {i: i for i in ids}
    for a, b in merges:
        survivor, merged = ids[a % count], ids[b % count]
        try:
            await handlers.merge_customers(repo, survivor, merged)
        except (InvalidArgument, FailedPrecondition):
            continue
        for key, value in survivor_of.items():
            if value == merged:
                survivor_of[key] = survivor
    for i, customer_id in enumerate(ids):
        expected = survivor_of[customer_id]
        assert (await handlers.get_customer(repo, customer_id)).id == expected
        by_ref = await handlers.resolve_customer(
            repo, facts("Whatever", "US", ref=ExternalRef("salesforce", f"acc-{i}"))
        )
        assert by_ref.customer.id == expected
        assert by_ref.matched_by is MatchRule.EXTERNAL_REF
    found, missing = await handlers.batch_get_customers(repo, ids)
    assert missing == []
    assert {k: v.id for k, v in found.items()} == survivor_of


async def test_merge_moves_refs_keeps_alias_and_emits_one_event() -> None:
    repo = FakeCustomerRepository()
    a = (
        await handlers.resolve_customer(repo, facts("A", ref=ExternalRef("salesforce", "a")))
    ).customer
    b = (
        await handlers.resolve_customer(repo, facts("B", ref=ExternalRef("netsuite", "b")))
    ).customer
    survivor = await handlers.merge_customers(repo, a.id, b.id)
    assert survivor.merged_ids == [b.id]
    assert survivor.external_refs == [ExternalRef("netsuite", "b"), ExternalRef("salesforce", "a")]
    again = await handlers.merge_customers(repo, a.id, b.id)  # a retried merge is a no-op
    assert again.version == survivor.version
    assert [type(e) for e in repo.events].count(CustomerMerged) == 1


async def test_bad_merges_are_refused() -> None:
    repo = FakeCustomerRepository()
    a, b, c = [
        (await handlers.resolve_customer(repo, facts(n))).customer.id for n in ("A", "B", "C")
    ]
    with pytest.raises(InvalidArgument):
        await handlers.merge_customers(repo, a, a)
    with pytest.raises(NotFound):
        await handlers.merge_customers(repo, a, uuid.uuid4())
    await handlers.merge_customers(repo, a, b)
    with pytest.raises(FailedPrecondition, match="already merged"):
        await handlers.merge_customers(repo, c, b)
    with pytest.raises(FailedPrecondition, match="itself merged"):
        await handlers.merge_customers(repo, b, c)


async def test_linking_a_ref_owned_by_another_customer_is_refused() -> None:
    repo = FakeCustomerRepository()
    a = (
        await handlers.resolve_customer(repo, facts("A", ref=ExternalRef("salesforce", "1")))
    ).customer
    b = (await handlers.resolve_customer(repo, facts("B"))).customer
    with pytest.raises(FailedPrecondition):
        await handlers.link_external_ref(repo, b.id, ExternalRef("salesforce", "1"))
    same = await handlers.link_external_ref(repo, a.id, ExternalRef("salesforce", "1"))
    assert same.version == a.version  # already linked: nothing changes


async def test_update_changes_only_what_is_given_and_bumps_version() -> None:
    repo = FakeCustomerRepository()
    a = (await handlers.resolve_customer(repo, facts("A", domain="a.com"))).customer
    updated = await handlers.update_customer(repo, a.id, handlers.CustomerChanges(name="A Two"))
    assert (updated.name, updated.domain, updated.version) == ("A Two", "a.com", a.version + 1)
    unchanged = await handlers.update_customer(repo, a.id, handlers.CustomerChanges(name="A Two"))
    assert unchanged.version == updated.version
    with pytest.raises(InvalidArgument):
        await handlers.update_customer(repo, a.id, handlers.CustomerChanges(country="ZZ"))
    assert (await handlers.get_customer(repo, a.id)).country == "DE"


async def test_page_size_over_the_maximum_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        await handlers.list_customers(
            FakeCustomerRepository(), page_size=101, after=None, search=""
        )
    assert caught.value.violations[0].field == "page_size"


async def test_a_deals_billing_details_become_the_customers_and_update_changes_them() -> None:
    repo = FakeCustomerRepository()
    ref = ExternalRef("salesforce", "bill-1")
    contact = ("Camille Martin", "ap@atelier.fr")
    address = (["12 rue de la Paix"], "Paris", "75002", "fr")
    first = await handlers.resolve_customer(
        repo,
        AccountFacts.parse(
            name="Atelier", country="FR", domain="", tax_id="", ref=ref, contact=contact
        ),
    )
    assert first.customer.billing_contact is not None
    assert first.customer.billing_contact.email == "ap@atelier.fr"
    assert first.customer.billing_address is None
    plain = await handlers.resolve_customer(repo, facts("Atelier", "FR", ref=ref))
    assert plain.customer.version == 1  # a deal without billing details keeps the customer's
    later = await handlers.resolve_customer(
        repo,
        AccountFacts.parse(
            name="Atelier", country="FR", domain="", tax_id="", ref=ref, address=address
        ),
    )
    assert later.customer.version == 2 and later.customer.billing_contact is not None
    assert later.customer.billing_address is not None
    assert later.customer.billing_address.country == "FR"
    assert [type(e).__name__ for e in repo.events] == ["CustomerCreated", "CustomerUpdated"]
    cleared = await handlers.update_customer(
        repo, first.customer.id, handlers.CustomerChanges(billing_contact=("", ""))
    )
    assert cleared.billing_contact is None and cleared.billing_address is not None
    with pytest.raises(InvalidArgument) as bad:
        await handlers.update_customer(
            repo, first.customer.id, handlers.CustomerChanges(billing_contact=("AP", "a@b"))
        )
    assert [v.field for v in bad.value.violations] == ["billing_contact.email"]
    assert repo.rows[first.customer.id].version == 3
