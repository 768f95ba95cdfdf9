"""The authorization matrix (table-driven, Medplum style): every patient and clinician route x every
kind of caller x every grant state, each expecting exactly one status per ../shared/API.md.

Callers: the patient who owns the data, another patient, a clinician of the clinic, its clinic
admin, a clinician of another clinic only, a removed member, a platform admin, and no token.
States (for clinic and share routes): an active grant; revoked; expired (standing at the very second
it expires); another clinic's grant addressed through this clinic; a clinic whose subscription has
lapsed; a grant whose purposes do not cover the operation; an image of a folder that is not shared.

Rules the table encodes (see shared_code/access.py):
- no token: 401; a token without the route's role: 403 `role-required`;
- a patient reaching another patient's thing: 404 (it is simply not in their partition);
- a clinician who is not (or no longer) a member of the clinic: 404 for everything of that clinic;
- a member: 403 for a revoked or expired grant, a lapsed subscription or a purpose not granted;
  404 for another clinic's grant and for an image outside the shared folder;
- clinic administration: clinic_admin only (a clinician member gets 403), even when lapsed.

The table must cover every route the app serves under /api (except /api/dev/*, /api/health and
the OpenAPI document): `test_every_route_has_rows` fails when a route is added without rows, or
when rows name a route that does not exist.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

import pytest

from shared_code.clock import Clock, FrozenClock, iso
from shared_code.sharing.members import member_id
from tests.support import backends
from tests.support.referrals import MatrixReferrals, referral_body
from tests.support.routes import api_routes
from tests.support.steps import (
    ALL_PURPOSES, CONSENT, VALID_NHS, add_member, admin, clinician, folder, jpeg, onboard, shared, upload, upload_ticket,
)

ACTORS = ("owner", "other_patient", "clinician", "clinic_admin", "other_clinician", "removed_member",
          "platform_admin", "anonymous")
EXEMPT_PREFIXES = ("/api/dev/", "/api/health", "/api/openapi.json", "/api/docs")


# ---------------------------------------------------------------------------------------------
# The world every row runs against: built once per adapter family.
# ---------------------------------------------------------------------------------------------
class World:
    def __init__(self, api):
        self.api = api
        clock: FrozenClock = api.container.clock
        start = clock.now()
        self.check_at = start + timedelta(hours=1)
        api.container.sharing.limiter.capacity = 100_000  # the matrix is not about rate limits
        self.clinics = {"A": onboard(api, "ALPHA-DERM", admin_email="ada@nhs.net")["id"],
                        "B": onboard(api, "BETA-DERM", admin_email="bea@nhs.net")["id"],
                        "L": onboard(api, "LAPSED-DERM", admin_email="ada@nhs.net")["id"]}
        self.headers = {
            "owner": api.patient("alice", "Alice Smith", nhsNumber=VALID_NHS),
            "other_patient": api.patient("bob", "Bob"),
            "clinician": clinician(api, "cal", "cal@nhs.net"),
            "clinic_admin": clinician(api, "ada", "ada@nhs.net"),
            "other_clinician": clinician(api, "bea", "bea@nhs.net"),
            "removed_member": clinician(api, "rem", "rem@nhs.net"),
            "platform_admin": admin(api),
            "anonymous": {},
        }
        ada = self.headers["clinic_admin"]
        for key in ("A", "L"):
            add_member(api, self.clinics[key], ada, "cal@nhs.net")
            removed = add_member(api, self.clinics[key], ada, "rem@nhs.net")
            assert api.client.delete(f"/api/clinics/{self.clinics[key]}/members/{removed['id']}",
                                     headers=ada).status_code == 204
        alice = self.headers["owner"]
        self.folder = folder(api, alice, bodySite={"code": "85562004", "laterality": "left"})
        self.other_folder = folder(api, alice, label="mole on back")
        self.uploads_folder = folder(api, alice, label="uploads")
        self.image = upload(api, alice, self.folder, seed=1)["id"]
        self.other_image = upload(api, alice, self.other_folder, seed=2)["id"]
        self.bob_folder = folder(api, self.headers["other_patient"], label="bob's")
        share = lambda code, **kw: shared(api, alice, self.folder, code, **kw)["id"]  # noqa: E731
        self.grants = {
            "active": share("ALPHA-DERM", purposes=ALL_PURPOSES),
            "revoked": share("ALPHA-DERM", purposes=ALL_PURPOSES),
            "expired": share("ALPHA-DERM", purposes=ALL_PURPOSES, days=None, expiresAt=iso(self.check_at)),
            "purpose_not_granted": share("ALPHA-DERM", purposes=["teaching"]),
            "other_clinic": share("BETA-DERM", purposes=ALL_PURPOSES),
            "lapsed": share("LAPSED-DERM", purposes=ALL_PURPOSES),
        }
        assert api.client.delete(f"/api/shares/{self.grants['revoked']}", headers=alice).status_code == 204
        lapse = api.client.patch(f"/api/admin/clinics/{self.clinics['L']}", headers=self.headers["platform_admin"],
                                 json={"subscriptionEndsAt": iso(start + timedelta(minutes=30))})
        assert lapse.status_code == 200
        clock.at = self.check_at  # the second the `expired` grant expires; L's subscription has ended

    # --- things rows need ---
    def code(self, key: str) -> str:
        return self.api.container.sharing.clinics.get(self.clinics[key])["code"]  # rotation may have changed it

    def clinic_of(self, state: str) -> str:
        return self.clinics[{"lapsed": "L", "other_clinic": "B"}.get(state, "A")]

    def clinic_admin_for(self, state: str) -> dict[str, str]:
        return self.headers["other_clinician" if state == "other_clinic" else "clinic_admin"]

    def disposable_folder(self) -> str:
        return folder(self.api, self.headers["owner"], label="disposable")

    def disposable_patient(self) -> dict[str, str]:
        return self.api.patient(f"p-{uuid.uuid4().hex[:8]}", "Disposable")

    @functools.cached_property
    def referrals(self) -> MatrixReferrals:
        """A refers to B (which accepts referrals); built on first use (tests/support/referrals.py)."""
        return MatrixReferrals(self.api, self.clinics, self.headers, self.code("B"))


@pytest.fixture(scope="module", params=["local", "azure"])
def world(request, tmp_path_factory) -> World:
    from tests.support.app import make_api

    root = tmp_path_factory.mktemp(f"matrix-{request.param}")
    family = backends.family_named(request.param, root, request)
    return World(make_api(family, root / "data", clock=FrozenClock(Clock().now())))


# ---------------------------------------------------------------------------------------------
# The table.
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    params: dict[str, str] = field(default_factory=dict)   # path parameters
    headers: dict[str, str] | None = None                  # replaces the actor's (a disposable patient)
    query: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None


Target = Callable[[World, str, str], Call]  # (world, actor, state) -> what to send


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    target: Target
    expect: dict[str, dict[str, int]]  # state -> actor -> status


def by_actor(owner: int, *, other_patient: int = 404, staff: int = 403, anonymous: int = 401) -> dict[str, int]:
    """A patient route: the owner succeeds, another patient finds nothing, staff lack the role."""
    return {"owner": owner, "other_patient": other_patient, "clinician": staff, "clinic_admin": staff,
            "other_clinician": staff, "removed_member": staff, "platform_admin": staff, "anonymous": anonymous}


def clinical(member: int) -> dict[str, int]:
    """A clinician route: members of the clinic get `member`, other clinicians 404, others no role."""
    return {"owner": 403, "other_patient": 403, "clinician": member, "clinic_admin": member,
            "other_clinician": 404, "removed_member": 404, "platform_admin": 403, "anonymous": 401}


def administrative(admin: int, *, clinician: int = 403, other_clinician: int = 404) -> dict[str, int]:
    """A clinic_admin route: the admin gets `admin`, a clinician member 403, non-members 404."""
    return {"owner": 403, "other_patient": 403, "clinician": clinician, "clinic_admin": admin,
            "other_clinician": other_clinician, "removed_member": 404, "platform_admin": 403, "anonymous": 401}


def operations(ok: int) -> dict[str, int]:
    return {"owner": 403, "other_patient": 403, "clinician": 403, "clinic_admin": 403, "other_clinician": 403,
            "removed_member": 403, "platform_admin": ok, "anonymous": 401}


# --- targets (path parameters and bodies for one row) ---
def folder_call(**kw) -> Target:
    return lambda w, actor, state: Call({"folderId": w.folder}, **kw)


def disposable_folder_call(**kw) -> Target:
    def target(w: World, actor: str, state: str) -> Call:
        return Call({"folderId": w.disposable_folder() if actor == "owner" else w.folder}, **kw)
    return target


def image_call(**kw) -> Target:
    return lambda w, actor, state: Call({"imageId": w.image}, **kw)


def me_put(w: World, actor: str, state: str) -> Call:
    body = {"displayName": "Alice Smith", "nhsNumber": VALID_NHS} if actor == "owner" else {"displayName": "Bob"}
    return Call(json=body)


def me_delete(w: World, actor: str, state: str) -> Call:
    return Call(headers=w.disposable_patient()) if actor in ("owner", "other_patient") else Call()


def image_delete(w: World, actor: str, state: str) -> Call:
    if actor != "owner":
        return Call({"imageId": w.image})
    return Call({"imageId": upload(w.api, w.headers["owner"], w.uploads_folder, seed=5)["id"]})


def share_create(w: World, actor: str, state: str) -> Call:
    target = w.disposable_folder() if actor == "owner" else w.folder
    return Call({"folderId": target}, json={"clinicCode": w.code("A"), "durationDays": 7, "purposes": ["clinical_care"],
                                            "consent": CONSENT})


def share_delete(w: World, actor: str, state: str) -> Call:
    if state == "revoked":
        return Call({"grantId": w.grants["revoked"]})  # revoking again: harmless for the owner
    if actor != "owner":
        return Call({"grantId": w.grants["active"]})
    return Call({"grantId": shared(w.api, w.headers["owner"], w.disposable_folder(), w.code("A"))["id"]})


def local_upload(w: World, actor: str, state: str) -> Call:
    token = upload_ticket(w.api, w.headers["owner"], w.uploads_folder, {})["uploadUrl"].rsplit("/", 1)[-1]
    if state == "tampered_url":
        token = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    return Call({"token": token}, content=jpeg(7), content_type="image/jpeg")


def lookup(w: World, actor: str, state: str) -> Call:
    return Call(query={"code": w.code("L" if state == "lapsed" else "A").lower()})


def grant_call(suffix_image: bool = False, **kw) -> Target:
    def target(w: World, actor: str, state: str) -> Call:
        # `other_clinic`: clinic B's grant asked for through clinic A (where it does not exist).
        clinic = w.clinics["L" if state == "lapsed" else "A"]
        grant = w.grants["active" if state == "other_folder_image" else state]
        params = {"clinicId": clinic, "grantId": grant}
        if suffix_image:
            params["imageId"] = w.other_image if state == "other_folder_image" else w.image
        return Call(params, **kw)
    return target


def clinic_call(**kw) -> Target:
    return lambda w, actor, state: Call({"clinicId": w.clinic_of(state)}, **kw)


def member_add(w: World, actor: str, state: str) -> Call:
    return Call({"clinicId": w.clinic_of(state)}, json={"email": f"new-{uuid.uuid4().hex[:8]}@nhs.net"})


def member_delete(w: World, actor: str, state: str) -> Call:
    clinic = w.clinic_of(state)
    email = f"leaver-{uuid.uuid4().hex[:8]}@nhs.net"
    add_member(w.api, clinic, w.clinic_admin_for(state), email)
    return Call({"clinicId": clinic, "memberId": member_id(clinic, email)})


def clinic_create(w: World, actor: str, state: str) -> Call:
    return Call(json={"name": "New clinic", "code": f"NEW-{uuid.uuid4().hex[:8]}", "notificationEmail": "n@nhs.net",
                      "subscriptionEndsAt": iso(w.check_at + timedelta(days=30)), "adminEmail": "n@nhs.net"})


def clinic_patch(w: World, actor: str, state: str) -> Call:
    return Call({"clinicId": w.clinics["B"]}, json={"notificationEmail": "beta-derm@nhs.net"})


# --- referrals: A refers to B. `clinician` and `clinic_admin` (of A) are the referrer's side, bea
# (`other_clinician`, of B) the service's; `third_clinic` is a referral between two clinics no actor
# belongs to, asked for through the actor's own clinic; `lapsed` asks through L (lapsed; bea is not
# a member of it).
def referral_expect(referrer: int, service: int, *, third: bool = True) -> dict[str, dict[str, int]]:
    def row(ref: int, svc: int) -> dict[str, int]:
        return {"owner": 403, "other_patient": 403, "clinician": ref, "clinic_admin": ref, "other_clinician": svc,
                "removed_member": 404, "platform_admin": 403, "anonymous": 401}
    states = {"active": row(referrer, service), "lapsed": row(403, 404)}
    if third:
        states["third_clinic"] = row(404, 404)
    return states


def referral_clinic(w: World, actor: str, state: str) -> str:
    return w.clinics["L" if state == "lapsed" else ("B" if actor == "other_clinician" else "A")]


def referral_call(pick: Callable[[World, str, str], str], **kw) -> Target:
    """`pick(world, actor, state)`: the referral id for this row (a fresh one where the row succeeds)."""
    def target(w: World, actor: str, state: str) -> Call:
        referral_id = w.referrals.third if state == "third_clinic" else pick(w, actor, state)
        return Call({"clinicId": referral_clinic(w, actor, state), "referralId": referral_id}, **kw)
    return target


def referrer_succeeds(w: World, actor: str, state: str) -> bool:
    return state == "active" and actor in ("clinician", "clinic_admin")


def fresh_for_referrer(make: Callable[[World], str]) -> Callable[[World, str, str], str]:
    return lambda w, a, s: make(w) if referrer_succeeds(w, a, s) else w.referrals.waiting


def fresh_for_service(w: World, actor: str, state: str) -> str:
    if state == "active" and actor == "other_clinician":
        return w.referrals.flow.submitted(toClinicCode=w.code("B"))["id"]
    return w.referrals.waiting


def referral_create(w: World, actor: str, state: str) -> Call:
    code = "DELTA-DERM" if actor == "other_clinician" else w.code("B")
    w.referrals  # noqa: B018 - B accepts referrals from here on
    return Call({"clinicId": referral_clinic(w, actor, state)}, json=referral_body(code))


def referral_list(w: World, actor: str, state: str) -> Call:
    return Call({"clinicId": referral_clinic(w, actor, state)},
                query={"direction": "received" if actor == "other_clinician" else "sent"})


def referral_image_upload(w: World, actor: str, state: str) -> Call:
    """A photograph for the lesion of `asked` (sent back for more information: images may be added)."""
    call = referral_call(lambda w, a, s: w.referrals.asked)(w, actor, state)
    lesion_id = w.referrals.flow.get(w.referrals.asked)["lesions"][0]["id"]
    return Call({**call.params, "lesionId": lesion_id}, query={"view": "close_up"}, content=jpeg(),
                content_type="image/jpeg")


def referral_image(w: World, actor: str, state: str) -> Call:
    """`waiting`'s first image (either side may view it)."""
    call = referral_call(lambda w, a, s: w.referrals.waiting)(w, actor, state)
    return Call({**call.params, "imageId": w.referrals.waiting_detail["lesions"][0]["images"][0]["id"]})


ACTIVE = "active"
VIEW_STATES = {"active": 200, "revoked": 403, "expired": 403, "other_clinic": 404, "lapsed": 403,
               "purpose_not_granted": 200, "other_folder_image": 404}
EXPORT_STATES = {**VIEW_STATES, "purpose_not_granted": 403}
GRANT_STATES = {k: v for k, v in VIEW_STATES.items() if k != "other_folder_image"}
COMMENT_STATES = {**{k: (201 if v == 200 else v) for k, v in GRANT_STATES.items()}, "purpose_not_granted": 403}


def per_state(states: dict[str, int]) -> dict[str, dict[str, int]]:
    return {state: clinical(status) for state, status in states.items()}


def admin_states(ok: int) -> dict[str, dict[str, int]]:
    # Lapsed: administration still works (removing a leaver never waits for a licence).
    # Another clinic (B): only B's admin (our `other_clinician`) succeeds there.
    return {"active": administrative(ok), "lapsed": administrative(ok),
            "other_clinic": {**administrative(404, clinician=404, other_clinician=ok)}}


ROUTES: list[Route] = [
    # --- patient: account ---
    Route("PUT", "/api/me", me_put, {ACTIVE: by_actor(200, other_patient=200)}),
    Route("GET", "/api/me", lambda w, a, s: Call(), {ACTIVE: by_actor(200, other_patient=200)}),
    Route("DELETE", "/api/me", me_delete, {ACTIVE: by_actor(202, other_patient=202)}),
    Route("GET", "/api/me/access-log", lambda w, a, s: Call(), {ACTIVE: by_actor(200, other_patient=200)}),
    # --- patient: folders ---
    Route("POST", "/api/folders", lambda w, a, s: Call(json={"label": "new"}), {ACTIVE: by_actor(201, other_patient=201)}),
    Route("GET", "/api/folders", lambda w, a, s: Call(), {ACTIVE: by_actor(200, other_patient=200)}),
    Route("GET", "/api/folders/{folderId}", folder_call(), {ACTIVE: by_actor(200)}),
    Route("PATCH", "/api/folders/{folderId}", folder_call(json={"label": "rash on hands"}), {ACTIVE: by_actor(200)}),
    Route("DELETE", "/api/folders/{folderId}", disposable_folder_call(), {ACTIVE: by_actor(204)}),
    # --- patient: images ---
    Route("POST", "/api/folders/{folderId}/images",
          lambda w, a, s: Call({"folderId": w.uploads_folder}, content=jpeg(4), content_type="image/jpeg"),
          {ACTIVE: by_actor(201)}),
    Route("POST", "/api/folders/{folderId}/uploads", lambda w, a, s: Call({"folderId": w.uploads_folder}, json={}),
          {ACTIVE: by_actor(201)}),
    Route("GET", "/api/folders/{folderId}/images", folder_call(), {ACTIVE: by_actor(200)}),
    Route("GET", "/api/images/{imageId}", image_call(), {ACTIVE: by_actor(200)}),
    Route("PATCH", "/api/images/{imageId}", image_call(json={"note": "itchy"}), {ACTIVE: by_actor(200)}),
    Route("DELETE", "/api/images/{imageId}", image_delete, {ACTIVE: by_actor(204)}),
    Route("GET", "/api/images/{imageId}/content", image_call(), {ACTIVE: by_actor(200)}),
    Route("GET", "/api/images/{imageId}/thumbnail", image_call(), {ACTIVE: by_actor(200)}),
    Route("GET", "/api/folders/{folderId}/template", folder_call(), {ACTIVE: by_actor(200)}),
    Route("PUT", "/api/folders/{folderId}/template",
          lambda w, a, s: Call({"folderId": w.folder}, json={"imageId": w.image}), {ACTIVE: by_actor(200)}),
    Route("PUT", "/api/folders/{folderId}/reminder", folder_call(json={"everyDays": 14}), {ACTIVE: by_actor(200)}),
    Route("DELETE", "/api/folders/{folderId}/reminder", folder_call(), {ACTIVE: by_actor(204)}),
    # The local upload URL is a capability (like a SAS): the URL is the credential, bearer tokens are
    # irrelevant; a tampered URL is refused whoever sends it.
    Route("PUT", "/api/local-uploads/{token}", local_upload,
          {ACTIVE: {a: 201 for a in ACTORS}, "tampered_url": {a: 403 for a in ACTORS}}),
    # --- patient: comments and sharing ---
    Route("GET", "/api/folders/{folderId}/comments", folder_call(), {ACTIVE: by_actor(200)}),
    Route("POST", "/api/folders/{folderId}/comments", folder_call(json={"text": "a note"}), {ACTIVE: by_actor(201)}),
    Route("GET", "/api/clinics/lookup", lookup,
          {ACTIVE: by_actor(200, other_patient=200), "lapsed": by_actor(404, other_patient=404)}),
    Route("POST", "/api/folders/{folderId}/shares", share_create, {ACTIVE: by_actor(201)}),
    Route("GET", "/api/folders/{folderId}/shares", folder_call(), {ACTIVE: by_actor(200)}),
    Route("DELETE", "/api/shares/{grantId}", share_delete, {ACTIVE: by_actor(204), "revoked": by_actor(204)}),
    # --- clinician: shares ---
    Route("GET", "/api/clinics/{clinicId}/shares", clinic_call(query={"status": "active"}),
          {"active": clinical(200), "lapsed": clinical(403),
           "other_clinic": {**clinical(404), "other_clinician": 200}}),
    Route("GET", "/api/clinics/{clinicId}/shares/{grantId}", grant_call(), per_state(GRANT_STATES)),
    Route("GET", "/api/clinics/{clinicId}/shares/{grantId}/images/{imageId}/content", grant_call(True),
          per_state(VIEW_STATES)),
    Route("GET", "/api/clinics/{clinicId}/shares/{grantId}/images/{imageId}/thumbnail", grant_call(True),
          per_state(VIEW_STATES)),
    Route("GET", "/api/clinics/{clinicId}/shares/{grantId}/images/{imageId}/export",
          grant_call(True, query={"format": "fhir"}), per_state(EXPORT_STATES)),
    Route("POST", "/api/clinics/{clinicId}/shares/{grantId}/comments", grant_call(json={"text": "Looks benign."}),
          per_state(COMMENT_STATES)),
    # --- clinic_admin ---
    Route("GET", "/api/clinics/{clinicId}/members", clinic_call(), admin_states(200)),
    Route("POST", "/api/clinics/{clinicId}/members", member_add, admin_states(201)),
    Route("DELETE", "/api/clinics/{clinicId}/members/{memberId}", member_delete, admin_states(204)),
    Route("POST", "/api/clinics/{clinicId}/code/rotate", clinic_call(), admin_states(200)),
    # --- platform_admin ---
    Route("POST", "/api/admin/clinics", clinic_create, {ACTIVE: operations(201)}),
    Route("GET", "/api/admin/clinics", lambda w, a, s: Call(), {ACTIVE: operations(200)}),
    Route("PATCH", "/api/admin/clinics/{clinicId}", clinic_patch, {ACTIVE: operations(200)}),
    # --- referrals (the core: tests/referrals) ---
    Route("POST", "/api/clinics/{clinicId}/referrals", referral_create, referral_expect(201, 201, third=False)),
    Route("GET", "/api/clinics/{clinicId}/referrals", referral_list, referral_expect(200, 200, third=False)),
    Route("GET", "/api/clinics/{clinicId}/referrals/{referralId}", referral_call(lambda w, a, s: w.referrals.waiting),
          referral_expect(200, 200)),
    Route("PATCH", "/api/clinics/{clinicId}/referrals/{referralId}",
          referral_call(lambda w, a, s: w.referrals.asked, json={"clinicalQuestion": "Resent with a sharper image."}),
          referral_expect(200, 403)),
    Route("POST", "/api/clinics/{clinicId}/referrals/{referralId}/lesions",
          referral_call(lambda w, a, s: w.referrals.asked, json={"bodySite": {"code": "14975008"}}),
          referral_expect(201, 403)),
    Route("POST", "/api/clinics/{clinicId}/referrals/{referralId}/submit",
          referral_call(fresh_for_referrer(lambda w: w.referrals.flow.ready(toClinicCode=w.code("B")))),
          referral_expect(200, 403)),
    Route("POST", "/api/clinics/{clinicId}/referrals/{referralId}/outcome",
          referral_call(fresh_for_service, json={"outcome": "discharge_with_advice", "adviceToReferrer": "Benign."}),
          referral_expect(403, 200)),
    Route("POST", "/api/clinics/{clinicId}/referrals/{referralId}/acknowledge",
          referral_call(fresh_for_referrer(lambda w: w.referrals.flow.decided(toClinicCode=w.code("B")))),
          referral_expect(200, 403)),
    Route("POST", "/api/clinics/{clinicId}/referrals/{referralId}/cancel",
          referral_call(fresh_for_referrer(lambda w: w.referrals.flow.draft(toClinicCode=w.code("B"))["id"])),
          referral_expect(200, 403)),
    # --- referrals: images (tests/referrals/test_referral_images.py) ---
    Route("POST", "/api/clinics/{clinicId}/referrals/{referralId}/lesions/{lesionId}/images", referral_image_upload,
          referral_expect(201, 403)),
    Route("GET", "/api/clinics/{clinicId}/referrals/{referralId}/images/{imageId}/content", referral_image,
          referral_expect(200, 200)),
    Route("GET", "/api/clinics/{clinicId}/referrals/{referralId}/images/{imageId}/thumbnail",
          referral_image, referral_expect(200, 200)),
    # --- referrals: the FHIR export, either side (tests/referrals/test_referral_export.py) ---
    Route("GET", "/api/clinics/{clinicId}/referrals/{referralId}/export",
          referral_call(lambda w, a, s: w.referrals.waiting, query={"format": "fhir"}), referral_expect(200, 200)),
]

ROWS = [(route, actor, state, expected[actor])
        for route in ROUTES for state, expected in route.expect.items() for actor in ACTORS]
assert all(set(expected) == set(ACTORS) for route in ROUTES for expected in route.expect.values())


@pytest.mark.parametrize("route, actor, state, status", ROWS,
                         ids=[f"{r.method} {r.path} | {a} | {s} -> {st}" for r, a, s, st in ROWS])
def test_matrix(world: World, route: Route, actor: str, state: str, status: int):
    call = route.target(world, actor, state)
    headers = dict(world.headers[actor] if call.headers is None else call.headers)
    if call.content_type:
        headers["content-type"] = call.content_type
    response = world.api.client.request(route.method, route.path.format(**call.params), headers=headers,
                                        params=call.query, json=call.json, content=call.content)
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    if status >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == status


def test_every_route_has_rows(tmp_path):
    from tests.support.app import make_api

    api = make_api(backends.local_family(tmp_path), tmp_path / "data")
    served = {(m, p) for p, m in api_routes(api.client.app, schema_only=False)
              if p.startswith("/api/") and not p.startswith(EXEMPT_PREFIXES)}
    covered = {(r.method, r.path) for r in ROUTES}
    assert not served - covered, f"routes without rows in the authorization matrix: {sorted(served - covered)}"
    assert not covered - served, f"rows for routes the app does not serve: {sorted(covered - served)}"
