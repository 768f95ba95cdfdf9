"""Every failure is RFC 9457 problem+json with a stable type; nothing leaks."""
import pytest


def _is_problem(response, status, slug=None):
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    if slug:
        assert body["type"].endswith("/" + slug), body["type"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def test_unknown_route_and_wrong_method(api):
    _is_problem(api.client.get("/api/nothing-here"), 404, "not-found")
    _is_problem(api.client.get("/nowhere"), 404, "not-found")
    _is_problem(api.client.delete("/api/health"), 405, "method-not-allowed")
    _is_problem(api.client.put("/api/folders", json={}), 405, "method-not-allowed")


def test_json_bodies(api):
    headers = api.patient()
    _is_problem(api.client.post("/api/folders", headers={**headers, "content-type": "text/plain"}, content=b"label"),
                415, "unsupported-media-type")
    _is_problem(api.client.post("/api/folders", headers={**headers, "content-type": "application/json"},
                                content=b'{"label": '), 400, "malformed-json")
    body = _is_problem(api.client.post("/api/folders", headers=headers, json={"label": 7}), 422, "validation-failed")
    assert body["errors"][0]["field"] == "label"
    assert api.client.get("/api/folders", headers=headers).json()["items"] == []


def test_body_limits(api):
    headers = api.patient()
    big = b'{"label": "' + b"x" * 70_000 + b'"}'
    _is_problem(api.client.post("/api/folders", headers={**headers, "content-type": "application/json"}, content=big),
                413, "payload-too-large")

    def chunked():
        for _ in range(100):
            yield b" " * 1000

    # No Content-Length: the limit counts the bytes actually received.
    _is_problem(api.client.post("/api/folders", headers={**headers, "content-type": "application/json"},
                                content=chunked()), 413, "payload-too-large")
    assert api.client.get("/api/folders", headers=headers).json()["items"] == []


def test_an_unexpected_error_is_a_500_problem_without_a_trace(api, monkeypatch):
    headers = api.patient()

    def explode(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(api.container.folders, "list", explode)
    body = _is_problem(api.client.get("/api/folders", headers=headers), 500, "internal-error")
    assert "secret internal detail" not in str(body)


def test_every_response_carries_a_request_id(api):
    response = api.client.get("/api/health")
    assert len(response.headers["x-request-id"]) >= 16
    echoed = api.client.get("/api/health", headers={"X-Request-ID": "client-abc-123"})
    assert echoed.headers["x-request-id"] == "client-abc-123"
    refused = api.client.get("/api/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert refused.headers["x-request-id"] != "bad id\nwith newline"


@pytest.mark.parametrize("path", ["/api/folders/%2e%2e%2f%2e%2e", "/api/images/..%2F..%2Fetc"])
def test_odd_ids_are_just_not_found(api, path):
    headers = api.patient()
    assert api.client.get(path, headers=headers).status_code == 404


def test_only_the_portal_origin_may_call_from_a_browser(api):
    portal = api.container.settings.portal_base_url
    allowed = api.client.options("/api/folders", headers={"Origin": portal, "Access-Control-Request-Method": "GET",
                                                          "Access-Control-Request-Headers": "authorization"})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == portal
    refused = api.client.options("/api/folders", headers={"Origin": "https://evil.example",
                                                          "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in refused.headers
