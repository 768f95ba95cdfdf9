"""No patient data in telemetry (issue 14, point 4): a whole scenario, account, both upload paths,
share, view, comment, export, a refusal, notifications, erasure, on both adapter families, with
every span and metric exported in memory; every span name, attribute, event and link, and every
metric label is scanned for what identifies a person or grants access."""
from __future__ import annotations

import re

from shared_code.notifications.pump import pump_notifications
from tests.support.steps import VALID_NHS, Scene, patient_id, upload_via_url

COMMENT = "Looks like contact dermatitis, keep a diary"
NOTE = "itchy after gardening"
LABEL = "rash on hands"


def _strings(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return [str(value)]


def _telemetry_text(captured) -> list[tuple[str, str]]:
    """(where, text) of everything telemetry would send."""
    found = []
    for span in captured.spans():
        found.append((f"span name {span.name}", span.name))
        for key, value in (span.attributes or {}).items():
            found += [(f"{span.name} [{key}]", text) for text in _strings(value)]
        for event in span.events:
            found.append((f"{span.name} event", event.name))
            found += [(f"{span.name} event [{k}]", t) for k, v in (event.attributes or {}).items()
                      for t in _strings(v)]
        for link in span.links:
            found += [(f"{span.name} link [{k}]", t) for k, v in (link.attributes or {}).items() for t in _strings(v)]
    for name, attributes, _ in captured.metric_points():
        found += [(f"metric {name} [{k}]", t) for k, v in attributes.items() for t in _strings(v)]
    return found


def test_a_whole_scenario_leaves_no_patient_data_in_spans_or_metrics(api, telemetry):
    scene = Scene(api)
    alice_id = patient_id(api, scene.alice)
    folder_id = scene.folder_id
    # A second folder with a label and a note, through an upload URL (the blob-trigger's path).
    second = api.client.post("/api/folders", headers=scene.alice, json={"label": LABEL})
    assert second.status_code == 201
    ticket = upload_via_url(api, scene.alice, second.json()["id"], seed=3, body={"note": NOTE})
    # The clinician views, comments, exports; a stranger is refused.
    assert api.client.get(scene.image_url(), headers=scene.cal).status_code == 200
    assert api.client.get(scene.image_url("thumbnail"), headers=scene.cal).status_code == 200
    comment = api.client.post(scene.url("/comments"), headers=scene.cal, json={"text": COMMENT})
    assert comment.status_code == 201
    assert api.client.get(scene.image_url("export"), headers=scene.cal).status_code == 200
    assert api.client.get(f"/api/folders/{folder_id}/comments", headers=scene.alice).status_code == 200
    stranger = api.as_(api.token("clinician", "eve", email="eve@nhs.net"))
    assert api.client.get(scene.image_url(), headers=stranger).status_code == 404
    # Notifications go out, then the patient erases the account.
    pump_notifications(api.container)
    assert api.client.request("DELETE", "/api/me", headers=scene.alice).status_code == 202
    pump_notifications(api.container)

    spans = telemetry.spans()
    assert any(s.name == "POST /api/folders/{folderId}/shares" for s in spans)  # telemetry was on
    assert any(s.name == "process notifications" for s in spans)
    tokens = [h["Authorization"].split()[1] for h in (scene.alice, scene.cal, scene.ada, stranger)]
    secrets = {
        "NHS number": VALID_NHS, "name": "Alice", "clinician's name": "Dr Cal", "note": "itchy",
        "second note": NOTE, "label": LABEL, "comment": "dermatitis", "patient id": alice_id,
        "folder id": folder_id, "image id": scene.image["id"], "uploaded image id": ticket["imageId"],
        "grant id": scene.grant["id"], "clinic id": scene.clinic_id, "comment id": comment.json()["id"],
        "clinic code": "NEWCASTLE", **{f"token {i}": token[-24:] for i, token in enumerate(tokens)},
    }
    leaks = [(where, what) for where, text in _telemetry_text(telemetry)
             for what, secret in secrets.items() if secret.lower() in text.lower()]
    # No generic "ten digits" pattern: the services' own request ids (az.service_request_id) are
    # random and may hold ten digits in a row; the NHS number is looked for as stored and as printed.
    patterns = {"e-mail": r"[\w.+-]+@[\w-]+\.[\w.]+", "SAS": r"(?i)\bsig=", "JWT": r"eyJ[\w-]{5,}\.",
                "NHS number as printed": VALID_NHS[:3] + r"[ -]" + VALID_NHS[3:6] + r"[ -]" + VALID_NHS[6:],
                "query string": r"/[^\s?]*\?\w+="}
    leaks += [(where, what) for where, text in _telemetry_text(telemetry)
              for what, pattern in patterns.items() if re.search(pattern, text)]
    assert not leaks, leaks


def test_the_metrics_count_what_operations_watch(api, telemetry):
    scene = Scene(api)
    assert api.client.post(f"/api/folders/{scene.folder_id}/images", headers={**scene.alice, "content-type": "image/jpeg"},
                           content=b"not an image").status_code == 422
    for _ in range(3):
        assert api.client.get(scene.image_url(), headers=scene.cal).status_code == 200
    stranger = api.as_(api.token("clinician", "eve", email="eve@nhs.net"))
    assert api.client.get(scene.image_url(), headers=stranger).status_code == 404
    pump_notifications(api.container)

    assert telemetry.counted("telederm.uploads", outcome="processed") == 1
    assert telemetry.counted("telederm.uploads", outcome="rejected") == 1
    assert [a["reason"] for n, a, _ in telemetry.metric_points()
            if n == "telederm.uploads" and a["outcome"] == "rejected"] in (["corrupt"], ["unsupported_type"])
    assert telemetry.counted("telederm.keyvault.unwraps", outcome="ok") == 1  # one patient, one unwrap
    assert telemetry.counted("telederm.patient_key.lookups", cache="hit") >= 3
    assert telemetry.counted("telederm.access.denials", **{"problem.type": "clinic-not-found"}) == 1
    assert telemetry.counted("telederm.notifications", outcome="sent", kind="share.created") >= 1
