"""The Customer aggregate, the facts an account is resolved by, and the domain events."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from dataclasses import dataclass, field

from mesh.errors import FailedPrecondition, InvalidArgument, Violations
from services.customer.domain import identity
from services.customer.domain.billing import (
    BillingContact,
    PostalAddress,
    check_address,
    check_contact,
)


class MatchRule(enum.Enum):
    """Which rule of DESIGN.md §3 matched, in the order they are tried."""

    EXTERNAL_REF = "EXTERNAL_REF"
    TAX_ID = "TAX_ID"
    DOMAIN = "DOMAIN"
    NAME = "NAME"
    CREATED = "CREATED"


@dataclass(frozen=True, order=True)
class ExternalRef:
    system: str
    id: str


@dataclass
class Customer:
    id: uuid.UUID
    name: str
    country: str
    domain: str | None = None
    tax_id: str | None = None
    external_refs: list[ExternalRef] = field(default_factory=list)
    merged_into: uuid.UUID | None = None
    merged_ids: list[uuid.UUID] = field(default_factory=list)
    version: int = 1
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    updated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    billing_contact: BillingContact | None = None
    billing_address: PostalAddress | None = None

    @property
    def normalized_name(self) -> str:
        return identity.normalize_name(self.name)

    def touch(self) -> None:
        self.version += 1
        self.updated_at = dt.datetime.now(dt.UTC)


BillingInput = tuple[str, str]  # contact name, email as sent
AddressInput = tuple[list[str], str, str, str]  # lines, city, postcode, country as sent


@dataclass(frozen=True)
class AccountFacts:
    """A validated, normalized description of an account as a CRM or ERP sends it."""

    name: str
    country: str
    domain: str | None
    tax_id: str | None
    external_ref: ExternalRef | None
    billing_contact: BillingContact | None = None
    billing_address: PostalAddress | None = None

    @classmethod
    def parse(
        cls,
        *,
        name: str,
        country: str,
        domain: str,
        tax_id: str,
        ref: ExternalRef | None,
        contact: BillingInput | None = None,
        address: AddressInput | None = None,
    ) -> AccountFacts:
        errors = Violations()
        clean_name = identity.check_name(name, "name", errors)
        clean_country = identity.check_country(country, "country", errors)
        clean_domain = identity.check_domain(domain, "domain", errors)
        clean_tax = identity.check_tax_id(tax_id, "tax_id", errors)
        if ref is not None:
            identity.check_external_ref(ref.system, ref.id, "external_ref", errors)
        clean_contact = check_contact(*contact, "billing_contact", errors) if contact else None
        clean_address = check_address(*address, "billing_address", errors) if address else None
        errors.raise_if_any()
        return cls(
            clean_name, clean_country, clean_domain, clean_tax, ref, clean_contact, clean_address
        )

    def match_keys(self) -> list[tuple[MatchRule, tuple[str, ...]]]:
        """The lookups to try, in DESIGN.md order; a rule without its facts is skipped."""
        keys: list[tuple[MatchRule, tuple[str, ...]]] = []
        if self.external_ref is not None:
            keys.append((MatchRule.EXTERNAL_REF, (self.external_ref.system, self.external_ref.id)))
        if self.tax_id is not None:
            keys.append((MatchRule.TAX_ID, (self.tax_id, self.country)))
        if self.domain is not None:
            keys.append((MatchRule.DOMAIN, (self.domain,)))
        keys.append((MatchRule.NAME, (identity.normalize_name(self.name), self.country)))
        return keys


@dataclass(frozen=True)
class CustomerCreated:
    customer: Customer


@dataclass(frozen=True)
class CustomerUpdated:
    customer: Customer


@dataclass(frozen=True)
class CustomerMerged:
    survivor: Customer
    merged_id: uuid.UUID


CustomerEvent = CustomerCreated | CustomerUpdated | CustomerMerged


def check_merge(survivor: Customer, merged: Customer) -> bool:
    """Validates a merge; returns False when it already happened (a retry), True to proceed."""
    if survivor.id == merged.id:
        raise InvalidArgument.one("merged_id", "a customer cannot be merged into itself")
    if survivor.merged_into is not None:
        raise FailedPrecondition(
            f"customer {survivor.id} was itself merged into {survivor.merged_into}; "
            "merge into the survivor instead"
        )
    if merged.merged_into == survivor.id:
        return False
    if merged.merged_into is not None:
        raise FailedPrecondition(
            f"customer {merged.id} was already merged into {merged.merged_into}"
        )
    return True
