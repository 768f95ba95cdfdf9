"""The edge answers as the OpenAPI document says: problem+json for every failure an operation can
give, authentication before request format, one problem type for a body that is not JSON, a full
`Allow` on 405, a public liveness check, and the constraints the code enforces stated in the
document."""
from __future__ import annotations

import pytest

from tests.support import steps
from tests.support.steps import problem_type

PROBLEM = "application/problem+json"


@pytest.fixture
def spec(api):
    return api.client.get("/api/openapi.json").json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_failure_an_operation_gives_is_documented_as_problem_json(spec):
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["properties"])
    for path, method, operation in _operations(spec):
        failures = {code: r for code, r in operation["responses"].items() if code[0] in "45"}
        for code, response in failures.items():
            if (path, code) == ("/api/health", "503"):
                continue  # the deep check's own JSON report
            assert list(response["content"]) == [PROBLEM], (method, path, code)
        if operation.get("security"):
            assert "401" in failures, (method, path)
        if "{" in path:
            assert "404" in failures, (method, path)
        if "requestBody" in operation and path != "/api/local-uploads/{token}":
            assert {"413", "415", "422"} <= set(failures), (method, path)
    validation = spec["paths"]["/api/folders"]["post"]["responses"]["422"]["content"][PROBLEM]["schema"]
    assert validation == {"$ref": "#/components/schemas/ValidationProblem"}
    upload = spec["paths"]["/api/folders/{folderId}/images"]["post"]["responses"]["422"]["content"][PROBLEM]
    assert {"$ref": "#/components/schemas/ImageRejectedProblem"} in upload["schema"]["anyOf"]
    assert "412" in spec["paths"]["/api/folders/{folderId}"]["patch"]["responses"]
    assert "429" in spec["paths"]["/api/clinics/lookup"]["get"]["responses"]
    assert "409" in spec["paths"]["/api/images/{imageId}/content"]["get"]["responses"]


def test_the_document_states_the_constraints_the_code_enforces(spec):
    schemas = spec["components"]["schemas"]

    def prop(model, name):
        return schemas[model]["properties"][name]

    assert "pattern" in str(prop("AccountIn", "email")) and "pattern" in prop("MemberIn", "email")
    assert prop("ClinicIn", "code")["pattern"] == prop("ShareIn", "clinicCode")["pattern"]
    assert len(schemas["ShareIn"]["oneOf"]) == 2  # expiresAt or durationDays, exactly one
    assert "date-time" in str(prop("ImagePatch", "takenAt")) and "offset" in str(prop("ImagePatch", "takenAt"))
    continuation = next(p for p in spec["paths"]["/api/folders"]["get"]["parameters"] if p["name"] == "continuation")
    assert "Opaque" in continuation["description"]
    if_match = next(p for p in spec["paths"]["/api/folders/{folderId}"]["patch"]["parameters"]
                    if p["name"].lower() == "if-match")
    assert if_match["in"] == "header"
    assert "image" in prop("CommentIn", "imageId")["description"]
    assert prop("FolderPatch", "label").get("type") == "string"  # null is refused, so not nullable


@pytest.mark.parametrize("body", [{"displayName": "A", "dateOfBirth": 0},
                                  {"displayName": "A", "notificationPreferences": {"comments": 0}},
                                  {"displayName": "A", "email": "a\x1c@example.org"}])
def test_a_value_outside_the_documented_type_is_refused(api, body):
    headers = api.as_(api.token("patient", "p"))
    response = api.client.put("/api/me", headers=headers, json=body)
    assert response.status_code == 422 and problem_type(response) == "validation-failed"
    assert api.client.get("/api/me", headers=headers).status_code == 404  # nothing was created


def test_a_time_is_an_rfc3339_string_and_a_clinic_code_is_ascii(api):
    clinic = steps.onboard(api, "NORTH-DERM")
    admin = steps.admin(api)
    patched = api.client.patch(f"/api/admin/clinics/{clinic['id']}", headers=admin, json={"subscriptionEndsAt": 0})
    assert patched.status_code == 422
    base = {"name": "X", "notificationEmail": "x@nhs.net", "adminEmail": "x@nhs.net",
            "subscriptionEndsAt": "2099-01-01T00:00:00Z"}
    # "ß" upper-cases to "SS": it must not become the code "STRASSE-DERM".
    assert api.client.post("/api/admin/clinics", headers=admin, json={**base, "code": "straße-derm"}).status_code == 422


def test_405_names_every_method_of_the_path(api):
    response = api.client.put("/api/folders", json={})
    assert response.status_code == 405 and problem_type(response) == "method-not-allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    assert response.json()["detail"]
    item = api.client.delete("/api/images/i_1")
    assert item.status_code != 405  # DELETE is a method of that path
    folder = api.client.post("/api/folders/f_1")
    assert {m.strip() for m in folder.headers["allow"].split(",")} >= {"GET", "PATCH", "DELETE"}


def test_liveness_is_public_and_ignores_a_bad_token(api, spec):
    assert "security" not in spec["paths"]["/api/health"]["get"]
    bad = {"Authorization": "Bearer not-a-token"}
    assert api.client.get("/api/health", headers=bad).json() == {"status": "ok"}
    assert api.client.get("/api/health", headers={"Authorization": "Basic x"}).status_code == 200
    deep = api.client.get("/api/health", params={"deep": 1}, headers=bad)
    assert deep.status_code == 401 and problem_type(deep) == "invalid-token"


def test_authentication_comes_before_the_request_format(api):
    wrong_type = api.client.post("/api/folders", headers={"content-type": "text/plain"}, content=b"label")
    assert wrong_type.status_code == 401, wrong_type.text
    broken = api.client.post("/api/folders", headers={"content-type": "application/json"}, content=b'{"label": ')
    assert broken.status_code == 401, broken.text
    bad_token = {"Authorization": "Bearer nope", "content-type": "text/plain"}
    assert problem_type(api.client.post("/api/admin/clinics", headers=bad_token, content=b"x")) == "invalid-token"
    headers = api.patient()
    assert api.client.post("/api/folders", headers={**headers, "content-type": "text/plain"},
                           content=b"label").status_code == 415


def test_invalid_utf8_is_the_same_problem_as_malformed_json(api):
    headers = {**api.patient(), "content-type": "application/json"}
    syntax = api.client.post("/api/folders", headers=headers, content=b'{"label": ')
    encoding = api.client.post("/api/folders", headers=headers, content=b'{"label": "\xff\xfe"}')
    assert syntax.status_code == encoding.status_code == 400
    assert problem_type(syntax) == problem_type(encoding) == "malformed-json"
    assert api.client.get("/api/folders", headers=headers).json()["items"] == []


def test_answers_without_a_body_are_documented_without_one(api, spec):
    for path, method, code in [("/api/me", "delete", "202"), ("/api/local-uploads/{token}", "put", "201")]:
        assert "content" not in spec["paths"][path][method]["responses"][code], (path, method)
    headers = api.patient()
    folder_id = steps.folder(api, headers)
    ticket = steps.upload_ticket(api, headers, folder_id)
    put = steps.put_upload(api, ticket["uploadUrl"], steps.jpeg())
    assert put.status_code == 201 and put.content == b"" and "content-type" not in put.headers
    erased = api.client.delete("/api/me", headers=headers)
    assert erased.status_code == 202 and erased.content == b"" and "content-type" not in erased.headers
