"""The one settings model: azure mode is keyless and refuses the local issuer, at startup."""
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from functions.http_app import create_api
from shared_code.settings import Settings

REPO = Path(__file__).resolve().parents[1]
AZURE = {
    "APP_MODE": "azure", "AzureWebJobsStorage__blobServiceUri": "https://st.blob.core.windows.net",
    "AzureWebJobsStorage__queueServiceUri": "https://st.queue.core.windows.net",
    "COSMOS_ENDPOINT": "https://db.documents.azure.com:443/", "KEY_VAULT_URI": "https://kv.vault.azure.net/",
    "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000001", "PATIENT_ISSUER": "https://login.example/p/v2.0",
    "PATIENT_JWKS_URI": "https://login.example/p/keys", "PATIENT_AUDIENCE": "api://telederm",
    "WORKFORCE_ISSUER": "https://login.microsoftonline.com/t/v2.0",
    "WORKFORCE_JWKS_URI": "https://login.microsoftonline.com/t/discovery/v2.0/keys",
    "WORKFORCE_AUDIENCE": "api://telederm", "MAIL_SENDER": "graph", "GRAPH_TENANT_ID": "t", "GRAPH_CLIENT_ID": "c",
    "GRAPH_SENDER_ADDRESS": "telederm@nhs.net",
}


def test_azure_mode_with_everything_set_is_accepted_and_has_no_local_issuer():
    settings = Settings(**AZURE)
    assert settings.app_mode == "azure" and settings.local_issuer is False


def test_azure_mode_refuses_the_local_issuer():
    with pytest.raises(ValidationError, match="LOCAL_ISSUER_ENABLED"):
        Settings(**AZURE, LOCAL_ISSUER_ENABLED="true")


def test_azure_mode_names_what_is_missing():
    with pytest.raises(ValidationError, match="COSMOS_ENDPOINT"):
        Settings(**{k: v for k, v in AZURE.items() if k != "COSMOS_ENDPOINT"})


def test_a_misconfigured_app_still_imports_and_answers_503(monkeypatch):
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOCAL_ISSUER_ENABLED", "true")
    client = TestClient(create_api())
    response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["type"].endswith("/service-misconfigured")
    assert client.post("/api/dev/tokens", json={"role": "patient", "subject": "x"}).status_code == 503


def test_in_azure_mode_the_dev_routes_do_not_exist(monkeypatch):
    for name, value in AZURE.items():
        monkeypatch.setenv(name, value)
    client = TestClient(create_api())
    assert client.post("/api/dev/tokens", json={"role": "patient", "subject": "x"}).status_code == 404
    assert "/api/dev/tokens" not in client.get("/api/openapi.json").json()["paths"]


def test_make_run_refuses_azure_mode():
    out = subprocess.run([sys.executable, "-m", "scripts.serve_local"], cwd=REPO, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "APP_MODE": "azure", "PORT": "1"}, timeout=60)
    assert out.returncode == 2 and "local" in out.stderr
