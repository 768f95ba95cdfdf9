"""Who to tell about an event, and with what values, resolved when it is sent (contract.py's table):
a changed e-mail address or preference is honoured, and the queue never holds anything personal.

The documents are read as they are, leniently: a notification is an afterthought of the write it
belongs to, so an absent document, a missing address or an unexpected field means "no recipient",
never a failure. The values a template gets are ids, the clinic's name, a portal link, a date and a
reason sentence: never a patient's name, NHS number, note or comment.

A patient is mailed only at an address their account marks `emailVerified` (the identity provider
verified it: accounts/service.py); a reminder only while its folder is there, linking into the app
by the folder's id (APP_LINK_BASE_URL), never naming it. The review clock's notices (referrals/
deadlines.py) go only while still true when sent (a referral reviewed since is not escalated), with
a count, dates, the clinics' names and a portal link."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator
from urllib.parse import quote

from shared_code import paging
from shared_code.clock import parse_time
from shared_code.notifications import rendering
from shared_code.notifications.contract import (
    ACCOUNT_INACTIVE, COMMENT_CREATED, GRANT_EXPIRED, GRANT_EXPIRING, MEMBER_ADDED, REFERRAL_DUE_TODAY,
    REFERRAL_NO_OUTCOME, REFERRAL_OUTCOME, REFERRAL_OVERDUE, REFERRAL_SUBMITTED, REFERRAL_UNACKNOWLEDGED, REMINDER_DUE,
    SHARE_CREATED, SUBSCRIPTION_ENDING, UPLOAD_REJECTED,
)
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound
from shared_code.referrals.deadlines import DIGEST_PARTITION as REFERRAL_DIGEST_PARTITION
from shared_code.referrals.review_clock import london_date
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS

CLINIC_DOC = "clinic"
ACCOUNT_DOC = "account"
# The account preference that switches each patient notification off.
PATIENT_PREFERENCE = {
    COMMENT_CREATED: "comments",
    GRANT_EXPIRING: "shareExpiring",
    GRANT_EXPIRED: "shareExpiring",
    UPLOAD_REJECTED: "uploadRejected",
    REMINDER_DUE: "reminders",
    ACCOUNT_INACTIVE: None,  # retention's notice before erasing an unused account: never switched off
}
_GONE = ("removed", "deleted")
# The review clock's notices (referrals/deadlines.py) and the state each is true in when it is sent.
REFERRAL_TIMERS = (REFERRAL_DUE_TODAY, REFERRAL_OVERDUE, REFERRAL_NO_OUTCOME, REFERRAL_UNACKNOWLEDGED)
REFERRAL_TIMER_STATUS = {REFERRAL_OVERDUE: "awaiting_review", REFERRAL_NO_OUTCOME: "awaiting_review",
                         REFERRAL_UNACKNOWLEDGED: "outcome_sent"}
# A referral's priority as the service's and the practice's inboxes read it.
PRIORITY_WORDS = {"routine": "routine", "urgent": "urgent", "urgent_suspected_cancer": "urgent (fast track)"}


class MalformedNotification(ValueError):
    """The message is not a notification this service writes. Raised, so the host retries it and
    then parks it in the poison queue, where operations can look at it."""


@dataclass(frozen=True)
class Recipient:
    ref: str  # an id for logs and the dedupe record: the patient, clinic or member id
    address: str
    values: dict[str, str]


class Recipients:
    def __init__(self, documents: DocumentStore, portal_base_url: str, app_link_base_url: str = ""):
        self._documents = documents
        self._portal = portal_base_url.rstrip("/")
        self._app = app_link_base_url.rstrip("/")

    def of(self, kind: str, data: dict[str, str]) -> list[Recipient]:
        if kind in PATIENT_PREFERENCE:
            return self._patient(kind, data)
        if kind == SHARE_CREATED:
            clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
            address = _address(clinic, "notificationEmail")
            if not address:
                return []
            link = f"{self._portal}/clinics/{_q(data['clinicId'])}/shares/{_q(data['grantId'])}"
            return [Recipient(data["clinicId"], address, {"clinic_name": _clinic_name(clinic), "link": link})]
        if kind == MEMBER_ADDED:
            clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
            member = self._doc(CLINICS, data["clinicId"], data["memberId"])
            address = _address(member, "email")
            if not clinic or not address or member.get("status") in _GONE:
                return []
            link = f"{self._portal}/clinics/{_q(data['clinicId'])}"
            return [Recipient(data["memberId"], address, {"clinic_name": _clinic_name(clinic), "link": link})]
        if kind == SUBSCRIPTION_ENDING:
            clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
            if not clinic:
                return []
            values = {"clinic_name": _clinic_name(clinic), "ends_on": _date(data["endsAt"]),
                      "link": f"{self._portal}/clinics/{_q(data['clinicId'])}"}
            recipients = []
            for member in self._clinic_admins(data["clinicId"]):
                address = _address(member, "email")
                if address and member.get("status") not in _GONE:
                    recipients.append(Recipient(member["id"], address, values))
            return recipients
        if kind in (REFERRAL_SUBMITTED, REFERRAL_OUTCOME):
            return self._referral(kind, data)
        if kind in REFERRAL_TIMERS:
            return self._referral_timer(kind, data)
        raise MalformedNotification(f"no recipient rule for {kind}")

    def _referral(self, kind: str, data: dict[str, str]) -> list[Recipient]:
        """The clinic on the other side of the step (`clinicId`): its inbox, the priority and the due
        date, a link to the referral. Never the patient, never the referral's clinical text."""
        clinic = self._doc(CLINICS, data["clinicId"], CLINIC_DOC)
        address = _address(clinic, "notificationEmail")
        if not address:
            return []
        values = {"clinic_name": _clinic_name(clinic), "priority": PRIORITY_WORDS.get(data["priority"], "routine"),
                  "link": f"{self._portal}/clinics/{_q(data['clinicId'])}/referrals/{_q(data['referralId'])}"}
        if kind == REFERRAL_SUBMITTED:
            values["due_on"] = _date(data["reviewDueBy"])
        return [Recipient(data["clinicId"], address, values)]

    def _referral_timer(self, kind: str, data: dict[str, str]) -> list[Recipient]:
        """The review clock's notices (referrals/deadlines.py), each only while still true when sent:
        counts, dates, the clinics' names and a portal link; never the patient or the clinical text."""
        service_id = data["clinicId"]
        service = self._doc(CLINICS, service_id, CLINIC_DOC)
        if not service:
            return []
        received = f"{self._portal}/clinics/{_q(service_id)}/referrals"
        if kind == REFERRAL_DUE_TODAY:
            digest = self._doc(DIRECTORY, REFERRAL_DIGEST_PARTITION, service_id) or {}
            address = _address(service, "notificationEmail")
            if not address or digest.get("day") != data["day"]:
                return []  # no inbox, or a later day's digest has replaced this one
            return [Recipient(service_id, address, {
                "clinic_name": _clinic_name(service), "count": str(int(digest.get("dueToday", 0))),
                "due_on": _london_date(data["day"]), "link": f"{received}?direction=received&status=awaiting_review"})]
        referral = self._doc(CLINICS, service_id, data["referralId"]) or {}
        if referral.get("status") != REFERRAL_TIMER_STATUS[kind]:
            return []  # reviewed, acknowledged or cancelled since the timer fired
        if kind == REFERRAL_OVERDUE:
            values = {"clinic_name": _clinic_name(service), "due_on": _london_date(referral.get("reviewDueBy")),
                      "link": f"{received}/{_q(data['referralId'])}"}
            return [Recipient(member["id"], address, values) for member in self._clinic_admins(service_id)
                    if (address := _address(member, "email")) and member.get("status") not in _GONE]
        referring_id = str(referral.get("referringClinicId"))
        values = {"clinic_name": _clinic_name(service),
                  "sent_on": _london_date(referral.get("submittedAt" if kind == REFERRAL_NO_OUTCOME else "outcomeSentAt")),
                  "link": f"{self._portal}/clinics/{_q(referring_id)}/referrals/{_q(data['referralId'])}"}
        member = self._doc(CLINICS, referring_id, str(referral.get("createdBy")))
        if member and member.get("status") not in _GONE and (address := _address(member, "email")):
            return [Recipient(member["id"], address, values)]
        address = _address(self._doc(CLINICS, referring_id, CLINIC_DOC), "notificationEmail")
        return [Recipient(referring_id, address, values)] if address else []

    def _patient(self, kind: str, data: dict[str, str]) -> list[Recipient]:
        account = self._doc(PATIENTS, data["patientId"], ACCOUNT_DOC)
        if not account or account.get("status", "active") != "active":
            return []
        preferences = account.get("notificationPreferences") or {}
        if PATIENT_PREFERENCE[kind] and preferences.get(PATIENT_PREFERENCE[kind], True) is False:
            return []
        address = _address(account, "email")
        if not address or account.get("emailVerified") is not True:
            return []
        values: dict[str, str] = {}
        if kind == UPLOAD_REJECTED:
            values = {"reason_sentence": rendering.rejection_sentence(data["reason"])}
        elif kind == REMINDER_DUE:
            if not self._doc(PATIENTS, data["patientId"], data["folderId"]):
                return []  # the folder was deleted after the reminder fell due
            values = {"link": f"{self._app}/folders/{_q(data['folderId'])}"}
        elif kind == ACCOUNT_INACTIVE:
            values = {"erase_on": _date(data["eraseAfter"])}
        return [Recipient(data["patientId"], address, values)]

    def _doc(self, container: str, partition_key: str, id: str) -> dict[str, Any] | None:
        try:
            return self._documents.read(container, partition_key, id).doc
        except NotFound:
            return None

    def _clinic_admins(self, clinic_id: str) -> Iterator[dict[str, Any]]:
        query = Query(clinic_id, {"type": "member", "role": "clinic_admin"}, limit=200)
        return (stored.doc for stored in paging.every(self._documents, CLINICS, query))


def _address(doc: dict[str, Any] | None, name: str) -> str | None:
    value = (doc or {}).get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if "@" in value and not re.search(r"[\s\x00-\x1f\x7f]", value) else None


def _clinic_name(clinic: dict[str, Any] | None) -> str:
    name = (clinic or {}).get("name") or (clinic or {}).get("displayName")
    return name if isinstance(name, str) and name.strip() else "your clinic"


def _date(value: str) -> str:
    try:
        moment = parse_time(value)
    except ValueError:
        return value
    return f"{moment.day} {moment:%B %Y}"


def _london_date(value: Any) -> str:
    """A stored time as the day it was in London (the review clock's day), e.g. "4 November 2026"."""
    try:
        text = str(value)
        day = date.fromisoformat(text) if len(text) == 10 else london_date(parse_time(text))
    except ValueError:
        return "an earlier date"
    return f"{day.day} {day:%B %Y}"


def _q(value: str) -> str:
    return quote(value, safe="")
