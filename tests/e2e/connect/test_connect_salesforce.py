"""Salesforce Outbound Messages over real HTTP: a won Opportunity becomes an engagement and the
message is acknowledged as the outbound messaging WSDL defines; an unknown org is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from tests.e2e.connect.hooks import BY_OPPORTUNITY, CREATE_SOURCE, RECEIPTS, nodes
from tests.e2e.connect.stack import ConnectStack
from tests.support import eventually

ORG = "00D5e000000KQ2eEAG"
SOAP_HEADERS = {"content-type": "text/xml; charset=utf-8", "soapaction": '""'}
MAPPING = {
    "wonStages": ["Closed Won"],
    "account": {
        "externalId": "AccountId",
        "name": "Account_Name__c",
        "country": "Account_Country__c",
    },
    "defaults": {
        "legalEntity": "UK01",
        "currency": "GBP",
        "billingModel": "TIME_AND_MATERIALS",
        "template": {"rateCard": [{"role": "consultant", "billRate": "120", "costRate": "70"}]},
    },
}


def outbound_message(
    org: str, notification: str, opportunity: str, stage: str = "Closed Won"
) -> bytes:
    """An Outbound Message for an Opportunity, shaped as the outbound messaging WSDL defines."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{org}</OrganizationId>
   <ActionId>04k5e000000CaRkAAK</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/62.0/{org[:15]}</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/62.0/{org[:15]}</PartnerUrl>
   <Notification>
    <Id>{notification}</Id>
    <sObject xsi:type="sf:Opportunity" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>{opportunity}</sf:Id>
     <sf:AccountId>0015e00000ZkM3hAAF</sf:AccountId>
     <sf:Account_Name__c>Acme Widgets Ltd</sf:Account_Name__c>
     <sf:Account_Country__c>GB</sf:Account_Country__c>
     <sf:Amount>48000.0</sf:Amount>
     <sf:CloseDate>2026-12-01</sf:CloseDate>
     <sf:CurrencyIsoCode>GBP</sf:CurrencyIsoCode>
     <sf:IsWon>true</sf:IsWon>
     <sf:Name>Acme data platform</sf:Name>
     <sf:StageName>{stage}</sf:StageName>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>""".encode()


@pytest.fixture(scope="module")
async def salesforce(connect_stack: ConnectStack) -> str:
    name = f"salesforce-{uuid.uuid4().hex[:6]}"
    await connect_stack.gql(
        CREATE_SOURCE, i={"name": name, "kind": "SALESFORCE", "orgIds": [ORG], "mapping": MAPPING}
    )
    return name


async def receipts(stack: ConnectStack, name: str) -> list[dict[str, Any]]:
    return nodes((await stack.gql(RECEIPTS, s=name))["receipts"])


def acknowledged(body: bytes) -> bool:
    root = fromstring(body)
    ack = root.find(
        "{http://schemas.xmlsoap.org/soap/envelope/}Body/"
        "{http://soap.sforce.com/2005/09/outbound}notificationsResponse/"
        "{http://soap.sforce.com/2005/09/outbound}Ack"
    )
    return ack is not None and ack.text == "true"


async def test_a_won_opportunity_is_acknowledged_and_becomes_an_engagement(
    connect_stack: ConnectStack, salesforce: str
) -> None:
    message = outbound_message(ORG, "04l5e00000Gx7QzAAJ", "0065e00000AbCdEAAZ")
    answer = await connect_stack.hook(salesforce, message, SOAP_HEADERS)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert acknowledged(answer.content)

    async def engagement() -> dict[str, Any]:
        found: dict[str, Any] = (
            await connect_stack.gql(BY_OPPORTUNITY, s=salesforce, o="0065e00000AbCdEAAZ")
        )["engagementByOpportunity"]
        return found

    created = await eventually(engagement, within=30, what="the opportunity's engagement")
    assert created["currency"] == "GBP"
    assert created["customer"]["name"] == "Acme Widgets Ltd"

    # Salesforce resends until acknowledged: the same notification id is stored once.
    again = await connect_stack.hook(salesforce, message, SOAP_HEADERS)
    assert again.status_code == 200 and acknowledged(again.content)
    stored = await receipts(connect_stack, salesforce)
    assert [r["eventId"] for r in stored] == ["04l5e00000Gx7QzAAJ"]
    assert stored[0]["customerMatchedBy"] == "CREATED"


async def test_an_unknown_org_and_unreadable_xml_are_refused_and_nothing_is_stored(
    connect_stack: ConnectStack, salesforce: str
) -> None:
    before = len(await receipts(connect_stack, salesforce))
    stranger = outbound_message("00D000000000001AAA", "04l5e00000Gx7QzBBB", "0065e00000ZzZzZAAZ")
    assert (await connect_stack.hook(salesforce, stranger, SOAP_HEADERS)).status_code == 403
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert (await connect_stack.hook(salesforce, bomb, SOAP_HEADERS)).status_code == 400
    assert (await connect_stack.hook(salesforce, b"not xml", SOAP_HEADERS)).status_code == 400
    assert len(await receipts(connect_stack, salesforce)) == before


async def test_a_stage_that_is_not_won_is_recorded_and_skipped(
    connect_stack: ConnectStack, salesforce: str
) -> None:
    message = outbound_message(ORG, "04l5e00000Gx7QzCCC", "0065e00000QqQqQAAZ", "Negotiation")
    assert (await connect_stack.hook(salesforce, message, SOAP_HEADERS)).status_code == 200
    found = await eventually(
        lambda: receipts(connect_stack, salesforce),
        until=lambda rs: any(
            r["eventId"] == "04l5e00000Gx7QzCCC" and r["status"] == "SKIPPED" for r in rs
        ),
        what="the negotiation stage skipped",
    )
    assert found
