"""Health (public shallow, platform_admin deep) and the published OpenAPI contract."""
from tests.support.routes import api_routes


def test_health_is_public_and_the_deep_check_needs_platform_admin(api):
    assert api.client.get("/api/health").json() == {"status": "ok"}
    assert api.client.get("/api/health", params={"deep": 1}).status_code == 401
    patient = api.as_(api.token("patient", "p"))
    assert api.client.get("/api/health", params={"deep": 1}, headers=patient).status_code == 403
    admin = api.as_(api.token("platform_admin", "ops", email="ops@trust.nhs.uk"))
    deep = api.client.get("/api/health", params={"deep": 1}, headers=admin)
    assert deep.status_code == 200, deep.text
    checks = deep.json()["checks"]
    assert {"documents", "blobs", "queue", "keys"} <= set(checks)
    assert all(c["status"] == "ok" for c in checks.values())


def test_deep_health_reports_a_failing_dependency(api, monkeypatch):
    def broken():
        raise OSError("disk on fire at /secret/path")

    monkeypatch.setattr(api.container.adapters.documents, "check", broken)
    admin = api.as_(api.token("platform_admin", "ops"))
    deep = api.client.get("/api/health", params={"deep": 1}, headers=admin)
    assert deep.status_code == 503
    assert deep.json()["checks"]["documents"]["status"] == "failing (OSError)"
    assert "/secret/path" not in deep.text


def test_openapi_documents_every_route_with_schemas(api):
    spec = api.client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = api_routes(api.client.app)
    assert routes and routes <= documented
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("post", "put", "patch") and path not in ("/api/local-uploads/{token}",):
                # Actions that take no input (start an upload, rotate a code, submit or acknowledge a
                # referral) are the only bodiless writes.
                bodiless = path.endswith(("/uploads", "/rotate", "/submit", "/acknowledge"))
                assert "requestBody" in operation or bodiless, (path, method)
            assert any(code.startswith("2") for code in operation["responses"]), (path, method)
    for required in ("/api/me", "/api/folders", "/api/folders/{folderId}", "/api/health", "/api/dev/tokens"):
        assert required in spec["paths"]
