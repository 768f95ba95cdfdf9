"""Routes whose inputs the app gives without FastAPI's solver (shared_code/http/resolve.py) answer
exactly as FastAPI's solver would: the same status, headers and bytes for the image views (a
patient's, a share's, a referral's), whoever asks and whatever they ask for, and each clinician view
is audited once either way."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from fastapi.routing import APIRoute, request_response

from shared_code.clock import Clock, FrozenClock
from shared_code.http.resolve import resolved_here
from shared_code.http.routing import ApiRoute
from tests.support import steps
from tests.support.app import make_api
from tests.support.referrals import ReferralScene

RESOLVED = {
    "/api/images/{imageId}/content", "/api/images/{imageId}/thumbnail",
    "/api/clinics/{clinicId}/shares/{grantId}/images/{imageId}/content",
    "/api/clinics/{clinicId}/shares/{grantId}/images/{imageId}/thumbnail",
    "/api/clinics/{clinicId}/referrals/{referralId}/images/{imageId}/content",
    "/api/clinics/{clinicId}/referrals/{referralId}/images/{imageId}/thumbnail",
}


def _resolved_routes(app) -> dict[str, ApiRoute]:
    return {r.path: r for r in app.router.routes if isinstance(r, ApiRoute) and resolved_here(r) is not None}


@contextmanager
def fastapi_solves(app):
    """The same routes with FastAPI's own request handler (its solver) in place of ours."""
    routes = list(_resolved_routes(app).values())
    ours = {id(r): r.app for r in routes}
    for route in routes:
        route.app = request_response(APIRoute.get_route_handler(route))
    try:
        yield
    finally:
        for route in routes:
            route.app = ours[id(route)]


def _answer(response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k != "x-request-id"}
    return response.status_code, headers, response.content


def test_the_image_views_are_the_routes_resolved_here(api):
    assert RESOLVED <= set(_resolved_routes(api.client.app))


def test_every_caller_gets_the_same_answer_as_from_fastapis_solver(api):
    scene = steps.Scene(api)
    bob = api.patient("bob", "Bob")
    no_account = api.as_(api.token("patient", "carol"))
    stranger = steps.clinician(api, "sam", "sam@nhs.net", "Dr Sam")
    image_id = scene.image["id"]
    pending = steps.upload_ticket(api, scene.alice, scene.folder_id)["imageId"]  # no bytes yet: 409 not ready
    requests = []
    for what in ("content", "thumbnail"):
        own = f"/api/images/{image_id}/{what}"
        requests += [(own, scene.alice), (own, bob), (own, no_account), (own, scene.cal), (own, {}),
                     (own, {"Authorization": "Bearer not-a-token"}), (own, {"Authorization": "Basic abc"}),
                     (f"/api/images/i_nothing/{what}", scene.alice), (f"/api/images/{pending}/{what}", scene.alice)]
        shared = scene.image_url(what)
        requests += [(shared, scene.cal), (shared, scene.ada), (shared, stranger), (shared, scene.alice), (shared, {}),
                     (scene.image_url(what, image_id="i_nothing"), scene.cal),
                     (scene.image_url(what, grant_id="g_nothing"), scene.cal),
                     (scene.image_url(what, clinic_id="cl_nothing"), scene.cal)]
    app = api.client.app
    ours = [_answer(api.client.get(path, headers=headers)) for path, headers in requests]
    audited = len(steps.audit_records(api, _patient_id(api, scene)))
    with fastapi_solves(app):
        theirs = [_answer(api.client.get(path, headers=headers)) for path, headers in requests]
    audited_again = len(steps.audit_records(api, _patient_id(api, scene)))

    for (path, headers), mine, fastapis in zip(requests, ours, theirs):
        assert mine == fastapis, (path, headers)
    statuses = {status for status, _, _ in ours}
    assert {200, 401, 403, 404, 409} <= statuses
    assert ours[0][1]["content-type"] == "image/jpeg" and ours[0][1]["cache-control"] == "private, no-store"
    views = sum(1 for (path, _), (status, _, _) in zip(requests, ours) if "/shares/" in path and status == 200)
    assert views == 4 and audited_again - audited == views  # each of FastAPI's views audited as ours were


@pytest.mark.parametrize("ended", ["revoked", "expired"])
def test_a_share_that_has_ended_is_refused_on_the_next_view_either_way(family, tmp_path, ended):
    api = make_api(family, tmp_path / "data", clock=FrozenClock(Clock().now()))
    scene = steps.Scene(api, days=1)
    assert api.client.get(scene.image_url(), headers=scene.cal).status_code == 200
    if ended == "revoked":
        assert api.client.delete(f"/api/shares/{scene.grant['id']}", headers=scene.alice).status_code == 204
    else:
        api.container.clock.advance(days=1)
    refused = _answer(api.client.get(scene.image_url(), headers=scene.cal))
    with fastapi_solves(api.client.app):
        assert _answer(api.client.get(scene.image_url(), headers=scene.cal)) == refused
    assert refused[0] == 403 and f"grant-{ended}" in refused[2].decode()


def _patient_id(api, scene) -> str:
    return api.container.tokens.validate(scene.alice["Authorization"].split()[1]).patient_id


def test_a_referrals_images_answer_both_sides_and_strangers_as_fastapis_solver_would(api):
    scene = ReferralScene(api)
    referral_id = scene.draft()["id"]
    lesion_id = scene.lesion(referral_id)["id"]
    image_id = scene.image(referral_id, lesion_id, "close_up")["id"]
    leeds_id, tom = scene.third_clinic()
    requests = []
    for what in ("content", "thumbnail"):
        mine = scene.url(referral_id, f"/images/{image_id}/{what}")
        theirs = scene.url(referral_id, f"/images/{image_id}/{what}", service=True)
        requests += [(mine, scene.gp), (theirs, scene.rita), (mine, tom), (theirs, {}),
                     (f"/api/clinics/{leeds_id}/referrals/{referral_id}/images/{image_id}/{what}", tom),
                     (scene.url(referral_id, f"/images/i_nothing/{what}"), scene.gp),
                     (scene.url("r_nothing", f"/images/{image_id}/{what}"), scene.gp)]
    ours = [_answer(api.client.get(path, headers=headers)) for path, headers in requests]
    viewed = len(api.container.referral_audit.entries(referral_id))
    with fastapi_solves(api.client.app):
        theirs_answers = [_answer(api.client.get(path, headers=headers)) for path, headers in requests]
    for (path, headers), mine, fastapis in zip(requests, ours, theirs_answers):
        assert mine == fastapis, (path, headers)
    assert {status for status, _, _ in ours} >= {200, 401, 404}
    assert len(api.container.referral_audit.entries(referral_id)) - viewed == sum(s == 200 for s, _, _ in ours)
