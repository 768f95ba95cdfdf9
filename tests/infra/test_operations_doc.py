"""docs/operations.md tells operators what the deployment needs that the code cannot check for them."""
from __future__ import annotations

import re

from tests.infra.bicep import REPO

DOC = REPO / "docs" / "operations.md"


def _paragraphs() -> list[str]:
    return [p for p in re.split(r"\n\s*\n", DOC.read_text(encoding="utf-8")) if p.strip()]


def test_the_azd_route_says_the_hook_needs_az_login_first():
    # The postdeploy hook runs scripts/deploy.sh, which calls az: `azd auth login` alone is not enough.
    azd = [p for p in _paragraphs() if "postdeploy" in p and "azd" in p]
    assert azd, "no paragraph about the azd postdeploy hook"
    assert any("az login" in p and "azd auth login" in p for p in azd), azd


def test_every_deployment_variable_the_script_reads_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for name in ("ALERT_EMAIL_ADDRESS", "UPLOAD_CORS_ORIGINS", "AZURE_KEY_VAULT_CREATE_MODE"):
        assert name in text, name


def test_the_alerts_and_the_key_vault_recovery_are_documented():
    text = DOC.read_text(encoding="utf-8")
    assert "## Alerts" in text and "notifications-poison" in text
    assert "keyVaultCreateMode=recover" in text
    assert "data.api" in text and "upload-trigger.bicep" in text
