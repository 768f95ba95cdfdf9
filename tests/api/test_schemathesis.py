"""The OpenAPI document tells the truth: schemathesis drives the app in process, as each kind of
caller, over a world built first (tests/support/steps.py Scene: a clinic with an admin and a member
clinician, a patient with a folder, an image and an active share), with every check, and the
stateful phase (links inferred from `Location` headers and responses). Any failure fails the test.

Bounded and repeatable: a fixed seed, derandomized generation, few examples per operation, on the
local family only (the document and the edge are the same on both families; the families' own
behaviour has its own tests)."""
from __future__ import annotations

import warnings

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from tests.support import steps
from tests.support.app import make_api
from tests.support.backends import local_family

# Checks excluded, each with its reason; nothing else is. (`max_response_time` runs only when given
# a limit, and none is: timing is not behaviour.)
EXCLUDED_CHECKS: dict[str, str] = {}

# Schema-valid requests the service rightly refuses, because the rule is one JSON Schema cannot
# state: for these operations `positive_data_acceptance` also expects the status given, and why.
# (Every other check, and this one for every other status, still applies to them.)
NOT_STATABLE: dict[str, tuple[int, str]] = {
    "PUT /api/me": (422, "an NHS number's modulus-11 check digit; a date of birth not after today"),
    "POST /api/folders/{folderId}/images": (422, "the body must be an image that decodes (image-rejected), and "
                                                 "`takenAt` not in the future: relative to now"),
    "POST /api/folders/{folderId}/uploads": (422, "`takenAt` not in the future: relative to now"),
    "PATCH /api/images/{imageId}": (422, "`takenAt` not in the future: relative to now"),
    "POST /api/folders/{folderId}/shares": (422, "`expiresAt` in the future and at most 366 days ahead: relative to now"),
    "POST /api/folders/{folderId}/comments": (422, "`imageId` must name an image of the folder: state, not shape"),
    "POST /api/clinics/{clinicId}/shares/{grantId}/comments": (
        422, "`imageId` must name a ready image of the shared folder: state, not shape"),
    "POST /api/clinics/{clinicId}/referrals": (
        422, "an NHS number's modulus-11 check digit; a date of birth not after today; not one's own clinic"),
    "PATCH /api/clinics/{clinicId}/referrals/{referralId}": (
        422, "an NHS number's modulus-11 check digit; a date of birth not after today"),
    "POST /api/clinics/{clinicId}/referrals/{referralId}/outcome": (
        422, "`department` for `redirect` only and `requested` for `request_information` only (each required "
             "there); `lesionOutcomes` name distinct lesions of this referral: cross-field and state rules"),
    "POST /api/clinics/{clinicId}/referrals/{referralId}/lesions/{lesionId}/images": (
        422, "the body must be an image that decodes (image-rejected); `view` is required, as a query parameter "
             "or a header: one of two places"),
}
# `continuation` is opaque: only a value the service handed out is valid (else 400 invalid-continuation).
CONTINUATION = (400, "`continuation` is opaque: only a value the service handed out is valid")

ROLES = ["patient", "clinician", "clinic_admin", "platform_admin", "anonymous"]


def _headers(scene: steps.Scene, role: str) -> dict[str, str]:
    return {"patient": scene.alice, "clinician": scene.cal, "clinic_admin": scene.ada,
            "platform_admin": steps.admin(scene.api), "anonymous": {}}[role]


def _not_statable(spec: dict) -> list[dict]:
    rules = dict(NOT_STATABLE)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if any(p["name"] == "continuation" for p in operation.get("parameters", [])):
                rules[f"{method.upper()} {path}"] = CONTINUATION
    expected = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]  # schemathesis's default
    return [{"include-name": name, "checks": {"positive_data_acceptance": {"expected-statuses": [*expected, status]}}}
            for name, (status, _reason) in rules.items()]


def _config(scene: steps.Scene, role: str) -> SchemathesisConfig:
    checks = {name: {"enabled": False} for name in EXCLUDED_CHECKS}
    return SchemathesisConfig.from_dict({
        "seed": 20261129,
        "headers": _headers(scene, role),
        "generation": {"max-examples": 2, "deterministic": True, "database": "none"},
        "checks": {"enabled": True, **checks},
        "phases": {"stateful": {"max-steps": 10}},
        # The world's ids, so generated requests reach real objects (and the checks see real answers).
        "operations": _not_statable(scene.api.client.get("/api/openapi.json").json()),
        "parameters": {"folderId": scene.folder_id, "imageId": scene.image["id"], "clinicId": scene.clinic_id,
                       "grantId": scene.grant["id"]},
    })


TESTING_PHASES = {"examples", "coverage", "fuzzing", "stateful"}


def _failures(stream, phases_run: set[str]) -> list[str]:
    found: list[str] = []
    for event in stream:
        if isinstance(event, events.PhaseFinished) and event.phase.is_enabled:
            phases_run.add(event.phase.name.value)
        if isinstance(event, events.ScenarioFinished) and event.status in (Status.FAILURE, Status.ERROR):
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        found.append(f"{event.label}: {check.name}: {failure.title}\n{failure.message}\n"
                                     f"{check.failure_info.code_sample}")
            if event.status is Status.ERROR:
                found.append(f"{event.label}: error in phase {event.phase}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            found.append(f"{type(event).__name__}: {getattr(event, 'info', event)}")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_the_document_matches_what_the_service_does(role, tmp_path):
    api = make_api(local_family(tmp_path), tmp_path / "data")
    scene = steps.Scene(api)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/api/openapi.json", api.client.app, config=_config(scene, role))
        phases_run: set[str] = set()
        failures = _failures(from_schema(schema).execute(), phases_run)
    assert not failures, f"{len(failures)} failures as {role}:\n\n" + "\n\n".join(failures[:20])
    assert TESTING_PHASES <= phases_run, phases_run  # nothing skipped, the stateful phase included
