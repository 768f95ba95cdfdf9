"""The steps tests take through the API, in one place: who calls (tokens from the dev issuer),
a patient's folders and images (uploaded directly or through an upload URL), clinics with members,
shares, and `Scene`, the usual world of a sharing test. Also the few reads tests make behind the
API (the principal of a token, audit records) and the outbox's write and queue steps.

Steps that must succeed assert their status and return the JSON (or the id); `post_image` and
`share` return the raw response for tests about refusals. Every step takes a `Client` (`Api` in
tests/support/app.py is one with a container; the benchmarks use one over a real server)."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from PIL import Image

from shared_code.clock import Clock, iso
from shared_code.notifications.outbox import record_event
from shared_code.ports.documents import Query
from shared_code.ports.errors import NotFound
from shared_code.settings import AUDIT, NOTIFICATIONS_QUEUE

if TYPE_CHECKING:
    from tests.support.app import Api

VALID_NHS = "9434765919"
CONSENT = {"version": "2025-01", "accepted": True}
ALL_PURPOSES = ["clinical_care", "medical_record", "teaching", "research"]


@cache
def jpeg(seed: int = 1, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small JPEG, different per seed."""
    img = Image.new("RGB", size, (seed * 40 % 256, 120, 200))
    img.putpixel((seed % size[0], 0), (255, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


# --- who calls --------------------------------------------------------------------------------------
@dataclass
class Client:
    """The API as the mobile app and the portal call it: `client` is a TestClient or an httpx.Client."""

    client: Any

    def token(self, role: str = "patient", subject: str = "alice", email: str | None = None,
              name: str | None = None) -> str:
        body: dict[str, Any] = {"role": role, "subject": subject}
        if email:
            body["email"] = email
        if name:
            body["name"] = name
        response = self.client.post("/api/dev/tokens", json=body)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def as_(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def patient(self, subject: str = "alice", display_name: str = "Alice", **account: Any) -> dict[str, str]:
        """A patient with an account; returns the auth headers."""
        # The token verifies the account's address, as the patients' identity provider would.
        headers = self.as_(self.token("patient", subject, email=account.get("email")))
        response = self.client.put("/api/me", json={"displayName": display_name, **account}, headers=headers)
        assert response.status_code in (200, 201), response.text
        return headers

    def now(self) -> datetime:
        """The server's time (a test's Api answers with its container's clock)."""
        return Clock().now()


def admin(api: Client) -> dict[str, str]:
    return api.as_(api.token("platform_admin", "ops", email="ops@nhs.net", name="Ops"))


def clinician(api: Client, subject: str, email: str | None = None, name: str | None = None) -> dict[str, str]:
    return api.as_(api.token("clinician", subject, email=email or f"{subject}@nhs.net", name=name or subject.title()))


def principal(api: Api, headers: dict[str, str]):
    """Who the service takes the caller of `headers` to be (needs the container: an Api)."""
    return api.container.tokens.validate(headers["Authorization"].split()[1])


def patient_id(api: Api, headers: dict[str, str]) -> str:
    return principal(api, headers).patient_id


# --- a patient's folders and images -----------------------------------------------------------------
def folder(api: Client, headers: dict[str, str], label: str = "rash on hands", **extra: Any) -> str:
    response = api.client.post("/api/folders", headers=headers, json={"label": label, **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def post_image(api: Client, headers: dict[str, str], folder_id: str, data: bytes | None = None,
               content_type: str = "image/jpeg", *, seed: int = 1, **params: Any):
    """A direct upload (`data`, or `jpeg(seed)`); the raw response."""
    return api.client.post(f"/api/folders/{folder_id}/images", headers={**headers, "content-type": content_type},
                           content=jpeg(seed) if data is None else data, params=params)


def upload(api: Client, headers: dict[str, str], folder_id: str, data: bytes | None = None,
           content_type: str = "image/jpeg", *, seed: int = 1, **params: Any) -> dict[str, Any]:
    """A direct upload that must succeed: the image."""
    response = post_image(api, headers, folder_id, data, content_type, seed=seed, **params)
    assert response.status_code == 201, response.text
    return response.json()


def upload_ticket(api: Client, headers: dict[str, str], folder_id: str, body: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """POST /uploads: `{imageId, uploadUrl, expiresAt}`; the image waits, pending, for its bytes."""
    response = api.client.post(f"/api/folders/{folder_id}/uploads", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def put_upload(api: Client, upload_url: str, data: bytes, **headers: str):
    """The client's PUT to a local upload URL (served by the local app); the raw response."""
    return api.client.put(urlsplit(upload_url).path, content=data, headers=headers)


def upload_via_url(api: Client, headers: dict[str, str], folder_id: str, data: bytes | None = None, *,
                   seed: int = 1, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """An upload through a local upload URL, start to end: the ticket (the image is processed)."""
    ticket = upload_ticket(api, headers, folder_id, body)
    response = put_upload(api, ticket["uploadUrl"], jpeg(seed) if data is None else data)
    assert response.status_code == 201, response.text
    return ticket


# --- clinics, members, shares -----------------------------------------------------------------------
def onboard(api: Client, code: str, *, name: str | None = None, admin_email: str = "ada@nhs.net",
            ends_in: timedelta = timedelta(days=365)) -> dict[str, Any]:
    """A clinic onboarded by a platform admin, `admin_email` its clinic admin."""
    response = api.client.post("/api/admin/clinics", headers=admin(api), json={
        "name": name or f"{code.title()} Dermatology", "code": code, "notificationEmail": f"{code.lower()}@nhs.net",
        "subscriptionEndsAt": iso(api.now() + ends_in), "adminEmail": admin_email})
    assert response.status_code == 201, response.text
    return response.json()


def add_member(api: Client, clinic_id: str, admin_headers: dict[str, str], email: str, role: str = "clinician",
               **extra: Any) -> dict[str, Any]:
    response = api.client.post(f"/api/clinics/{clinic_id}/members", headers=admin_headers,
                               json={"email": email, "role": role, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def share(api: Client, headers: dict[str, str], folder_id: str, code: str, *,
          purposes=("clinical_care", "medical_record"), days: int | None = 30, **body: Any):
    """A share of a folder with the clinic of `code`, with consent; the raw response."""
    payload: dict[str, Any] = {"clinicCode": code, "purposes": list(purposes), "consent": CONSENT, **body}
    if days is not None and "expiresAt" not in body:
        payload["durationDays"] = days
    return api.client.post(f"/api/folders/{folder_id}/shares", headers=headers, json=payload)


def shared(api: Client, headers: dict[str, str], folder_id: str, code: str, **kw: Any) -> dict[str, Any]:
    """A share that must succeed: the grant."""
    response = share(api, headers, folder_id, code, **kw)
    assert response.status_code == 201, response.text
    return response.json()


class Scene:
    """One clinic (NEWCASTLE-DERM) with an admin (ada) and a clinician (cal); Alice (with an NHS
    number) has a folder with one uploaded image (`image_data`, or a small JPEG), shared with the
    clinic for `purposes` (care and the record) for `days`."""

    def __init__(self, api: Client, purposes=("clinical_care", "medical_record"), days: int = 30,
                 image_data: bytes | None = None):
        self.api = api
        self.clinic = onboard(api, "NEWCASTLE-DERM", name="Newcastle Dermatology")
        self.clinic_id = self.clinic["id"]
        self.ada = clinician(api, "ada", "ada@nhs.net", "Dr Ada")
        self.cal = clinician(api, "cal", "cal@nhs.net", "Dr Cal")
        add_member(api, self.clinic_id, self.ada, "cal@nhs.net")
        self.alice = api.patient("alice", "Alice Smith", nhsNumber=VALID_NHS, dateOfBirth="1980-02-29")
        self.folder_id = folder(api, self.alice, bodySite={"code": "85562004", "laterality": "left"})
        self.image = upload(api, self.alice, self.folder_id, image_data, view="close_up", note="itchy")
        self.grant = shared(api, self.alice, self.folder_id, "newcastle-derm", purposes=purposes, days=days)

    def url(self, suffix: str = "", grant_id: str | None = None, clinic_id: str | None = None) -> str:
        return f"/api/clinics/{clinic_id or self.clinic_id}/shares/{grant_id or self.grant['id']}{suffix}"

    def image_url(self, what: str = "content", image_id: str | None = None, **kw) -> str:
        return self.url(f"/images/{image_id or self.image['id']}/{what}", **kw)


# --- reading back -----------------------------------------------------------------------------------
def problem_type(response) -> str:
    """The slug of a problem+json answer's type."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["type"].rsplit("/", 1)[-1]


def audit_records(api: Api, partition: str) -> list[dict[str, Any]]:
    """The audit records of one partition (a patient id, or `clinic:<id>`)."""
    page = api.container.adapters.documents.query(AUDIT, Query(partition, {"type": "audit"}, limit=200))
    return [stored.doc for stored in page.items]


# --- the outbox and its queue -----------------------------------------------------------------------
def event_writer(documents, source, doc: dict[str, Any]) -> Callable[[str], Any]:
    """The `write(event_id)` an outbox emit runs: creates `doc` as `source` (or adds the event to the
    stored one) with the event id in its `events` list, as record_event keeps it."""
    def write(event_id: str):
        try:
            stored = documents.read(source.container, source.partition_key, source.id)
        except NotFound:
            return documents.create(source.container, source.partition_key,
                                    record_event({"id": source.id, **doc}, event_id))
        return documents.replace(source.container, source.partition_key, record_event(stored.doc, event_id),
                                 if_match=stored.etag)

    return write


def drain(queue, name: str = NOTIFICATIONS_QUEUE) -> list[str]:
    """Take every visible message (and delete it): their bodies."""
    bodies = []
    while True:
        batch = queue.receive(name, max_messages=32, visibility_timeout=30)
        if not batch:
            return bodies
        for message in batch:
            bodies.append(message.body)
            queue.delete(name, message)


def queued(queue, name: str = NOTIFICATIONS_QUEUE) -> list[dict[str, Any]]:
    """The visible messages' bodies, parsed, without taking them."""
    return [json.loads(message.body) for message in queue.peek(name)]
