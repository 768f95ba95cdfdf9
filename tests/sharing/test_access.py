"""shared_code/access.py: the one gate for clinicians. Point reads only, the purpose table, and
which problem each failed check gives."""
import pytest

from shared_code.access import COMMENT, EXPORT_EPR, PURPOSE_OPERATIONS, VIEW, allowed_operations
from shared_code.errors import DomainError
from shared_code.http.problems import problem_for
from tests.support.steps import Scene, add_member, folder, principal, upload, upload_ticket


def _reads(api):
    return api.container.adapters.documents.reads.snapshot()


def _delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}


def test_purpose_table():
    assert PURPOSE_OPERATIONS == {
        "clinical_care": {VIEW, COMMENT},
        "medical_record": {VIEW, COMMENT, EXPORT_EPR},
        "teaching": {VIEW},
        "research": {VIEW},
    }
    assert allowed_operations(["teaching", "research"]) == [VIEW]
    assert allowed_operations(["clinical_care", "research"]) == [VIEW, COMMENT]
    assert EXPORT_EPR in allowed_operations(["medical_record"])
    assert EXPORT_EPR not in allowed_operations(["clinical_care", "teaching", "research"])


def test_the_access_check_uses_point_reads_only(api):
    s = Scene(api)
    cal = principal(api, s.cal)
    for operation in (VIEW, COMMENT, EXPORT_EPR):
        before = _reads(api)
        access = api.container.access.image(cal, s.clinic_id, s.grant["id"], s.image["id"], operation)
        delta = _delta(before, _reads(api))
        assert access.image.id == s.image["id"]
        assert delta.get("query", 0) == 0, delta
        assert delta["point"] == 4, delta  # membership, clinic, grant, image
    # Matched on the object id instead of the e-mail: two more point reads (index, member), still no query.
    token = api.token("clinician", "dee")
    dee = api.container.tokens.validate(token)
    add_member(api, s.clinic_id, s.ada, "dee@nhs.net", objectId=dee.object_id)
    before = _reads(api)
    api.container.access.grant(dee, s.clinic_id, s.grant["id"], VIEW)
    delta = _delta(before, _reads(api))
    assert delta.get("query", 0) == 0 and delta["point"] == 4, delta


def test_refusals_use_point_reads_only_too(api):
    s = Scene(api)
    cal = principal(api, s.cal)
    before = _reads(api)
    with pytest.raises(DomainError):
        api.container.access.grant(cal, s.clinic_id, "g_unknown", VIEW)
    with pytest.raises(DomainError):
        api.container.access.grant(cal, "cl_unknown", s.grant["id"], VIEW)
    assert _delta(before, _reads(api)).get("query", 0) == 0


def test_viewing_an_image_through_the_api_makes_no_query(api):
    s = Scene(api)
    api.client.get(s.image_url("content"), headers=s.cal)  # warm any key cache
    before = _reads(api)
    assert api.client.get(s.image_url("content"), headers=s.cal).status_code == 200
    assert _delta(before, _reads(api)).get("query", 0) == 0


@pytest.mark.parametrize("purposes, operation, allowed", [
    (("teaching",), VIEW, True), (("teaching",), COMMENT, False), (("research",), EXPORT_EPR, False),
    (("clinical_care",), COMMENT, True), (("clinical_care",), EXPORT_EPR, False), (("medical_record",), EXPORT_EPR, True),
])
def test_purposes_decide_operations(api, purposes, operation, allowed):
    s = Scene(api, purposes=purposes)
    cal = principal(api, s.cal)
    if allowed:
        api.container.access.grant(cal, s.clinic_id, s.grant["id"], operation)
    else:
        with pytest.raises(DomainError) as refused:
            api.container.access.grant(cal, s.clinic_id, s.grant["id"], operation)
        problem = problem_for(refused.value)
        assert (problem.status, problem.slug) == (403, "purpose-not-granted")


def test_images_outside_the_shared_folder_or_not_ready_are_not_found(api):
    s = Scene(api)
    other = folder(api, s.alice, "other")
    elsewhere = upload(api, s.alice, other, seed=3)
    pending = upload_ticket(api, s.alice, s.folder_id, {})["imageId"]
    for image_id in (elsewhere["id"], pending, "i_unknown"):
        for what in ("content", "thumbnail", "export"):
            response = api.client.get(s.image_url(what, image_id=image_id), headers=s.cal)
            assert response.status_code == 404, (image_id, what)
            assert response.json()["type"].endswith("/image-not-found")
