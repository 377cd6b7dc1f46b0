"""Salesforce Outbound Messages: the SOAP `notifications` envelope and its acknowledgement.

Outbound Messages are not signed; a message is trusted when its OrganizationId is on the
source's allow-list (plus, in production, TLS and Salesforce's published IP ranges at the edge).
The body is parsed with defusedxml: entity declarations (billion laughs, external entities)
are refused rather than expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from services.connect.domain.intake import Forbidden, Unreadable
from services.connect.domain.model import IncomingEvent

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100
ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack></notificationsResponse>"
    b"</soapenv:Body></soapenv:Envelope>"
)
CONTENT_TYPE = "text/xml; charset=utf-8"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def org_allowed(org_id: str, allowed: list[str]) -> bool:
    """Ids compare on their case-sensitive 15-character form (18 adds a checksum suffix)."""
    return any(org_id[:15] == known[:15] for known in allowed if len(known) >= 15)


def events_of(body: bytes, allowed_orgs: list[str]) -> list[IncomingEvent]:
    try:
        root = fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise Unreadable(f"the body is not a SOAP message: {str(exc)[:200]}") from None
    notifications = root.find(f"{{{SOAP}}}Body/{{{OUTBOUND}}}notifications")
    if root.tag != f"{{{SOAP}}}Envelope" or notifications is None:
        raise Unreadable("not an Outbound Message (soapenv:Envelope/Body/notifications)")
    org_id = (notifications.findtext(f"{{{OUTBOUND}}}OrganizationId") or "").strip()
    if not org_id:
        raise Unreadable("the message has no OrganizationId")
    if not org_allowed(org_id, allowed_orgs):
        raise Forbidden(f"organization {org_id[:18]} is not on this source's allow-list")
    action_id = (notifications.findtext(f"{{{OUTBOUND}}}ActionId") or "").strip()
    found = notifications.findall(f"{{{OUTBOUND}}}Notification")
    if not found or len(found) > MAX_NOTIFICATIONS:
        raise Unreadable(f"an Outbound Message holds 1..{MAX_NOTIFICATIONS} notifications")
    return [_event(n, org_id, action_id) for n in found]


def _event(notification: ET.Element, org_id: str, action_id: str) -> IncomingEvent:
    notification_id = (notification.findtext(f"{{{OUTBOUND}}}Id") or "").strip()
    sobject = notification.find(f"{{{OUTBOUND}}}sObject")
    if not notification_id or sobject is None:
        raise Unreadable("a Notification needs an Id and an sObject")
    kind = sobject.get(f"{{{XSI}}}type", "").rpartition(":")[2]
    fields: dict[str, str | None] = {}
    for child in sobject:
        nil = child.get(f"{{{XSI}}}nil") == "true"
        fields[_local(child.tag)] = None if nil else (child.text or "")
    payload = {
        "organizationId": org_id,
        "actionId": action_id,
        "notificationId": notification_id,
        "sObjectType": kind,
        "fields": fields,
    }
    return IncomingEvent(notification_id, fields.get("Id") or "", payload)
