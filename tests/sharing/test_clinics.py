"""Clinics (platform_admin), their members and codes (clinic_admin), and the audit of every change."""
from datetime import timedelta

from shared_code.clock import Clock, FrozenClock, iso
from shared_code.settings import CLINICS
from shared_code.sharing.members import member_id
from tests.support.steps import Scene, add_member, admin, audit_records, clinician, folder, onboard, problem_type, share


def test_onboard_list_and_patch_a_clinic(api):
    ops = admin(api)
    ends = iso(api.container.clock.now() + timedelta(days=365))
    created = api.client.post("/api/admin/clinics", headers=ops, json={
        "name": "Leeds Dermatology", "code": "leeds derm-1", "notificationEmail": "Derm@NHS.net",
        "subscriptionEndsAt": ends, "adminEmail": "Ada@NHS.net"})
    assert created.status_code == 201, created.text
    clinic = created.json()
    assert clinic["code"] == "LEEDSDERM-1" and clinic["notificationEmail"] == "derm@nhs.net"
    assert clinic["subscriptionActive"] is True and clinic["subscriptionEndsAt"] == ends
    taken = api.client.post("/api/admin/clinics", headers=ops, json={
        "name": "Other", "code": "LEEDSDERM-1", "notificationEmail": "x@nhs.net", "subscriptionEndsAt": ends,
        "adminEmail": "x@nhs.net"})
    assert taken.status_code == 409 and problem_type(taken) == "clinic-code-taken"
    onboard(api, "YORK-DERM")
    listed = api.client.get("/api/admin/clinics", headers=ops, params={"limit": 1}).json()
    second = api.client.get("/api/admin/clinics", headers=ops, params={"continuation": listed["continuation"]}).json()
    assert len(listed["items"]) == 1 and len(second["items"]) == 1 and second["continuation"] is None
    assert {listed["items"][0]["id"], second["items"][0]["id"]} >= {clinic["id"]}
    past = iso(api.container.clock.now() - timedelta(days=1))
    patched = api.client.patch(f"/api/admin/clinics/{clinic['id']}", headers=ops,
                               json={"subscriptionEndsAt": past, "name": "Leeds Skin"})
    assert patched.status_code == 200 and patched.json()["subscriptionActive"] is False
    assert patched.json()["name"] == "Leeds Skin" and patched.json()["notificationEmail"] == "derm@nhs.net"
    for body in ({"name": None}, {"notificationEmail": "not-an-email"}, {"subscriptionEndsAt": "2030-01-01T00:00:00"},
                 {"code": "NEW"}):
        assert api.client.patch(f"/api/admin/clinics/{clinic['id']}", headers=ops, json=body).status_code == 422
    assert api.client.patch("/api/admin/clinics/cl_nope", headers=ops, json={"name": "x"}).status_code == 404
    actions = sorted(a["action"] for a in audit_records(api, f"clinic:{clinic['id']}"))
    assert actions == ["clinic.created", "clinic.updated", "member.added"]
    assert all(a["actor"]["subject"] == "ops" for a in audit_records(api, f"clinic:{clinic['id']}"))


def test_onboarding_refuses_bad_input_and_changes_nothing(api):
    ops = admin(api)
    ends = iso(api.container.clock.now() + timedelta(days=30))
    good = {"name": "Leeds", "code": "LEEDS-DERM", "notificationEmail": "d@nhs.net", "subscriptionEndsAt": ends,
            "adminEmail": "a@nhs.net"}
    for change in ({"code": "--"}, {"code": "A"}, {"code": "LEEDS_DERM"}, {"adminEmail": "nope"}, {"name": ""},
                   {"subscriptionEndsAt": "tomorrow"}, {"extra": 1}):
        assert api.client.post("/api/admin/clinics", headers=ops, json={**good, **change}).status_code == 422, change
    assert api.client.get("/api/admin/clinics", headers=ops).json()["items"] == []


def test_members_are_managed_by_the_clinic_admin(api):
    clinic = onboard(api, "LEEDS-DERM")
    cid = clinic["id"]
    ada = clinician(api, "ada", "ada@nhs.net")
    members = api.client.get(f"/api/clinics/{cid}/members", headers=ada).json()["items"]
    assert [(m["email"], m["role"]) for m in members] == [("ada@nhs.net", "clinic_admin")]
    cal = add_member(api, cid, ada, "Cal@NHS.net")
    assert cal["email"] == "cal@nhs.net" and cal["role"] == "clinician" and cal["id"] == member_id(cid, "cal@nhs.net")
    again = api.client.post(f"/api/clinics/{cid}/members", headers=ada, json={"email": "cal@nhs.net"})
    assert again.status_code == 409 and problem_type(again) == "member-exists"
    cal_headers = clinician(api, "cal", "cal@nhs.net")
    refused = api.client.post(f"/api/clinics/{cid}/members", headers=cal_headers, json={"email": "eve@nhs.net"})
    assert refused.status_code == 403 and problem_type(refused) == "clinic-admin-required"
    last = api.client.delete(f"/api/clinics/{cid}/members/{members[0]['id']}", headers=ada)
    assert last.status_code == 409 and problem_type(last) == "last-clinic-admin"
    assert api.client.delete(f"/api/clinics/{cid}/members/{cal['id']}", headers=ada).status_code == 204
    assert api.client.delete(f"/api/clinics/{cid}/members/{cal['id']}", headers=ada).status_code == 404
    gone = api.client.get(f"/api/clinics/{cid}/shares", headers=cal_headers)
    assert gone.status_code == 404 and problem_type(gone) == "clinic-not-found"
    actions = [a["action"] for a in audit_records(api, f"clinic:{cid}")]
    assert actions.count("member.added") == 2 and actions.count("member.removed") == 1


def test_a_removed_member_loses_access_at_once(api):
    s = Scene(api)
    assert api.client.get(s.image_url("content"), headers=s.cal).status_code == 200
    cal_id = member_id(s.clinic_id, "cal@nhs.net")
    assert api.client.delete(f"/api/clinics/{s.clinic_id}/members/{cal_id}", headers=s.ada).status_code == 204
    for url in (s.url(), s.image_url("content"), f"/api/clinics/{s.clinic_id}/shares"):
        response = api.client.get(url, headers=s.cal)
        assert response.status_code == 404 and problem_type(response) == "clinic-not-found"


def test_membership_by_object_id_when_the_token_has_no_email(api):
    s = Scene(api)
    token = api.token("clinician", "dee")  # no e-mail claim; the local issuer still sets an oid
    oid = api.container.tokens.validate(token).object_id
    dee = api.as_(token)
    assert api.client.get(s.url(), headers=dee).status_code == 404
    add_member(api, s.clinic_id, s.ada, "dee@nhs.net", objectId=oid)
    assert api.client.get(s.url(), headers=dee).status_code == 200
    clash = api.client.post(f"/api/clinics/{s.clinic_id}/members", headers=s.ada,
                            json={"email": "other@nhs.net", "objectId": oid})
    assert clash.status_code == 409


def test_a_token_never_makes_anyone_a_member(api):
    s = Scene(api)
    mallory = clinician(api, "mallory", "mallory@nhs.net")
    for url in (s.url(), f"/api/clinics/{s.clinic_id}/shares", f"/api/clinics/{s.clinic_id}/members"):
        response = api.client.get(url, headers=mallory)
        assert response.status_code == 404 and problem_type(response) == "clinic-not-found"


def test_rotating_the_code_stops_the_old_one_at_once(api):
    s = Scene(api)
    rotated = api.client.post(f"/api/clinics/{s.clinic_id}/code/rotate", headers=s.ada)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["code"]
    assert new != "NEWCASTLE-DERM" and new.startswith("NEWCASTLE-")
    bob = api.patient("bob")
    old = api.client.get("/api/clinics/lookup", headers=bob, params={"code": "NEWCASTLE-DERM"})
    assert old.status_code == 404
    assert share(api, bob, folder(api, bob), "newcastle-derm").status_code == 404
    assert api.client.get("/api/clinics/lookup", headers=bob, params={"code": new.lower()}).json()["clinicId"] == s.clinic_id
    assert api.client.post(f"/api/clinics/{s.clinic_id}/code/rotate", headers=s.cal).status_code == 403
    assert api.client.get(s.url(), headers=s.cal).status_code == 200  # existing shares are unaffected
    assert any(a["action"] == "clinic.code_rotated" for a in audit_records(api, f"clinic:{s.clinic_id}"))


def test_a_lapsed_subscription_shows_nothing_but_admins_may_still_manage_members(api):
    s = Scene(api)
    past = iso(api.container.clock.now())
    api.client.patch(f"/api/admin/clinics/{s.clinic_id}", headers=admin(api), json={"subscriptionEndsAt": past})
    for url in (s.url(), s.image_url("content"), f"/api/clinics/{s.clinic_id}/shares"):
        response = api.client.get(url, headers=s.cal)
        assert response.status_code == 403 and problem_type(response) == "subscription-inactive"
    assert api.client.get(f"/api/clinics/{s.clinic_id}/members", headers=s.ada).status_code == 200
    assert api.client.get("/api/clinics/lookup", headers=s.alice, params={"code": "NEWCASTLE-DERM"}).status_code == 404


def test_member_added_notifies_the_new_member(api):
    clinic = onboard(api, "LEEDS-DERM")
    ada = clinician(api, "ada", "ada@nhs.net")
    member = add_member(api, clinic["id"], ada, "cal@nhs.net")
    doc = api.container.adapters.documents.read(CLINICS, clinic["id"], member["id"]).doc
    assert len(doc["events"]) == 1


def test_a_retired_code_is_never_given_to_another_clinic(api):
    s = Scene(api)
    new = api.client.post(f"/api/clinics/{s.clinic_id}/code/rotate", headers=s.ada).json()["code"]
    ends = iso(api.container.clock.now() + timedelta(days=30))
    taken = api.client.post("/api/admin/clinics", headers=admin(api), json={
        "name": "Impostor", "code": "newcastle-derm", "notificationEmail": "x@nhs.net", "subscriptionEndsAt": ends,
        "adminEmail": "eve@nhs.net"})
    assert taken.status_code == 409 and problem_type(taken) == "clinic-code-taken"
    old = api.client.get("/api/clinics/lookup", headers=s.alice, params={"code": "NEWCASTLE-DERM"})
    assert old.status_code == 404
    assert api.client.get("/api/clinics/lookup", headers=s.alice, params={"code": new}).status_code == 200


def test_code_guesses_are_limited_per_client_address_across_instances(family, tmp_path):
    """60 guesses spread over 6 new patients, alternating between two instances, from one address."""
    from tests.support.app import make_api

    # A frozen clock: the limit counts per fixed window, and a slow run must not cross a window's edge.
    api = make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()))
    other = make_api(family, tmp_path / "data", clock=api.container.clock)  # a second worker, same stores
    onboard(api, "LEEDS-DERM")
    outcomes = []
    for n in range(60):
        client = (api, other)[n % 2]
        outcomes.append(client.client.get("/api/clinics/lookup", headers=client.patient(f"p{n // 10}"),
                                          params={"code": f"WRONG-{n}"}))
    assert [r.status_code for r in outcomes[:30]] == [404] * 30  # CLINIC_CODE_ADDRESS_ATTEMPTS
    limited = outcomes[30:]
    assert {r.status_code for r in limited} == {429}
    assert problem_type(limited[0]) == "rate-limited" and int(limited[0].headers["retry-after"]) >= 1
    eve = other.patient("eve")
    assert share(other, eve, folder(other, eve), "LEEDS-DERM").status_code == 429  # shares name codes too


def test_behind_a_trusted_front_end_the_address_is_its_own_forwarded_entry(family, tmp_path):
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()), TRUST_X_FORWARDED_FOR=True,
                   CLINIC_CODE_ADDRESS_ATTEMPTS=3)  # frozen: the attempts stay in one fixed window
    onboard(api, "LEEDS-DERM")

    def lookup(who: str, forwarded: str) -> int:
        headers = {**api.patient(who), "x-forwarded-for": forwarded}
        return api.client.get("/api/clinics/lookup", headers=headers, params={"code": "WRONG-1"}).status_code

    # What the client writes left of the front end's entry changes nothing: one address, 3 attempts.
    assert [lookup(f"p{n}", f"10.9.9.{n}, 203.0.113.5:4431{n}") for n in range(4)] == [404, 404, 404, 429]
    assert lookup("p9", "203.0.113.6:5000") == 404  # another address
