"""Building blocks for the sharing tests: clinics onboarded through the admin API, clinicians with
memberships, patients with folders and real uploaded images, shares."""
from __future__ import annotations

import io
from datetime import timedelta
from functools import cache
from typing import Any

from PIL import Image

from shared_code.clock import iso

VALID_NHS = "9434765919"
CONSENT = {"version": "2025-01", "accepted": True}
ALL_PURPOSES = ["clinical_care", "medical_record", "teaching", "research"]


@cache
def jpeg(seed: int = 1, size: tuple[int, int] = (96, 64)) -> bytes:
    img = Image.new("RGB", size, (seed * 40 % 256, 120, 200))
    img.putpixel((seed % size[0], 0), (255, 0, 0))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def admin(api) -> dict[str, str]:
    return api.as_(api.token("platform_admin", "ops", email="ops@nhs.net", name="Ops"))


def clinician(api, subject: str, email: str | None = None, name: str | None = None) -> dict[str, str]:
    return api.as_(api.token("clinician", subject, email=email or f"{subject}@nhs.net", name=name or subject.title()))


def onboard(api, code: str, *, name: str | None = None, admin_email: str = "ada@nhs.net",
            ends_in: timedelta = timedelta(days=365)) -> dict[str, Any]:
    ends = iso(api.container.clock.now() + ends_in)
    response = api.client.post("/api/admin/clinics", headers=admin(api), json={
        "name": name or f"{code.title()} Dermatology", "code": code, "notificationEmail": f"{code.lower()}@nhs.net",
        "subscriptionEndsAt": ends, "adminEmail": admin_email})
    assert response.status_code == 201, response.text
    return response.json()


def add_member(api, clinic_id: str, admin_headers: dict[str, str], email: str, role: str = "clinician",
               **extra: Any) -> dict[str, Any]:
    response = api.client.post(f"/api/clinics/{clinic_id}/members", headers=admin_headers,
                               json={"email": email, "role": role, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def folder(api, headers: dict[str, str], label: str = "rash on hands", **extra: Any) -> str:
    response = api.client.post("/api/folders", headers=headers, json={"label": label, **extra})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(api, headers: dict[str, str], folder_id: str, *, seed: int = 1, **params: Any) -> dict[str, Any]:
    response = api.client.post(f"/api/folders/{folder_id}/images", headers={**headers, "content-type": "image/jpeg"},
                               content=jpeg(seed), params=params)
    assert response.status_code == 201, response.text
    return response.json()


def share(api, headers: dict[str, str], folder_id: str, code: str, *, purposes=("clinical_care", "medical_record"),
          days: int | None = 30, **body: Any):
    payload: dict[str, Any] = {"clinicCode": code, "purposes": list(purposes), "consent": CONSENT, **body}
    if days is not None and "expiresAt" not in body:
        payload["durationDays"] = days
    return api.client.post(f"/api/folders/{folder_id}/shares", headers=headers, json=payload)


def shared(api, headers, folder_id, code, **kw) -> dict[str, Any]:
    response = share(api, headers, folder_id, code, **kw)
    assert response.status_code == 201, response.text
    return response.json()


def problem_type(response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["type"].rsplit("/", 1)[-1]


class Scene:
    """One clinic (DERM) with an admin (ada) and a clinician (cal); Alice (with an NHS number) has a
    folder with one uploaded image, shared with DERM for care and the record."""

    def __init__(self, api, purposes=("clinical_care", "medical_record"), days: int = 30):
        self.api = api
        self.clinic = onboard(api, "NEWCASTLE-DERM", name="Newcastle Dermatology")
        self.clinic_id = self.clinic["id"]
        self.ada = clinician(api, "ada", "ada@nhs.net", "Dr Ada")
        self.cal = clinician(api, "cal", "cal@nhs.net", "Dr Cal")
        add_member(api, self.clinic_id, self.ada, "cal@nhs.net")
        self.alice = api.patient("alice", "Alice Smith", nhsNumber=VALID_NHS, dateOfBirth="1980-02-29")
        self.folder_id = folder(api, self.alice, bodySite={"code": "85562004", "laterality": "left"})
        self.image = upload(api, self.alice, self.folder_id, view="close_up", note="itchy")
        self.grant = shared(api, self.alice, self.folder_id, "newcastle-derm", purposes=purposes, days=days)

    def url(self, suffix: str = "", grant_id: str | None = None, clinic_id: str | None = None) -> str:
        return f"/api/clinics/{clinic_id or self.clinic_id}/shares/{grant_id or self.grant['id']}{suffix}"

    def image_url(self, what: str = "content", image_id: str | None = None, **kw) -> str:
        return self.url(f"/images/{image_id or self.image['id']}/{what}", **kw)
