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
    for name in ("ALERT_EMAIL_ADDRESS", "UPLOAD_CORS_ORIGINS", "AZURE_KEY_VAULT_CREATE_MODE", "APP_LINK_BASE_URL",
                 "WORKFORCE_TENANTS", "PDS_BASE_URL", "PDS_TOKEN_URL", "PDS_API_KEY", "PDS_KEY_ID",
                 "PDS_PRIVATE_KEY_SECRET_NAME", "SKIP_DEEP_SMOKE_TEST", "DEEP_SMOKE_TEST_ATTEMPTS"):
        assert name in text, name
    script = (REPO / "scripts" / "deploy.sh").read_text(encoding="utf-8")
    for name in re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (REPO / "infra" / "main.parameters.json").read_text(encoding="utf-8")):
        assert name in text, f"{name} (main.parameters.json) is not in docs/operations.md"
        assert name in script, f"{name} (main.parameters.json) is not in scripts/deploy.sh's header"


def test_the_deep_smoke_test_and_the_role_it_needs_are_documented():
    text = DOC.read_text(encoding="utf-8")
    assert "## Deploy" in text and "### The deep smoke test" in text
    section = text.split("### The deep smoke test", 1)[1].split("\n## ", 1)[0]
    for needle in ("platform_admin", "az account get-access-token", "WORKFORCE_AUDIENCE", "?deep=1",
                   "SKIP_DEEP_SMOKE_TEST=1", "AADSTS65001"):
        assert needle in section, needle
    # The script's own message points here.
    assert "'The deep smoke test'" in (REPO / "scripts" / "deploy.sh").read_text(encoding="utf-8")


def test_every_legal_hold_command_is_documented():
    from shared_code.cli import build_parser

    text = DOC.read_text(encoding="utf-8")
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - argparse has no public listing
    actions = commands["legal-hold"]._subparsers._group_actions[0].choices  # noqa: SLF001
    assert set(actions) == {"set", "clear", "list"}
    for action, sub in actions.items():
        line = next((ln for ln in text.splitlines() if f"python -m shared_code.cli legal-hold {action}" in ln), None)
        assert line, action
        for option in sub._option_string_actions:  # noqa: SLF001
            if option.startswith("--") and option != "--help":
                assert option in line, f"legal-hold {action}: {option}"


def test_every_timer_alert_has_a_line_saying_what_to_do():
    alerts = (REPO / "infra" / "modules" / "alerts.bicep").read_text(encoding="utf-8")
    timers = re.findall(r"name: '([a-z_]+)'\n\s+periodMinutes", alerts)
    assert {"complete_audit", "sweep_leftovers", "send_photo_reminders", "apply_retention"} <= set(timers)
    rows = [ln for ln in DOC.read_text(encoding="utf-8").splitlines() if ln.startswith("| `alert-")]
    for name in ("complete_audit", "sweep_leftovers", "send_photo_reminders", "apply_retention"):
        row = next((r for r in rows if f"`alert-timer-{name}-not-running`" in r), None)
        assert row, name
        what_to_do = row.rstrip(" |").rsplit("|", 1)[1].strip()
        assert what_to_do, name


def test_the_alerts_and_the_key_vault_recovery_are_documented():
    text = DOC.read_text(encoding="utf-8")
    assert "## Alerts" in text and "notifications-poison" in text
    assert "keyVaultCreateMode=recover" in text
    assert "data.api" in text and "upload-trigger.bicep" in text
