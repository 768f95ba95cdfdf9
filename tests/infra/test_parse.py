"""(a) Every Bicep file parses. Checkov silently runs zero checks on a file it cannot parse, so a
parse failure must fail here, by name."""
from __future__ import annotations

import pytest

from tests.infra.bicep import INFRA, bicep_files, parse

EXPECTED = {
    "main.bicep",
    "modules/resources.bicep",
    "modules/identity.bicep",
    "modules/monitoring.bicep",
    "modules/storage.bicep",
    "modules/cosmos.bicep",
    "modules/keyvault.bicep",
    "modules/functionapp.bicep",
    "modules/rbac.bicep",
    "modules/alerts.bicep",
    "upload-trigger.bicep",
}


def test_the_expected_bicep_files_exist():
    found = {str(path.relative_to(INFRA)) for path in bicep_files()}
    assert EXPECTED <= found, f"missing: {sorted(EXPECTED - found)}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: str(p.relative_to(INFRA)))
def test_bicep_file_parses(path):
    try:
        parsed = parse(path)
    except Exception as exc:  # pycep raises lark errors or ValueError
        pytest.fail(f"{path.relative_to(INFRA)} does not parse with pycep: {exc}")
    assert parsed.get("resources") or parsed.get("modules"), f"{path} declares nothing"


def test_main_targets_the_subscription():
    parsed = parse(INFRA / "main.bicep")
    assert parsed["globals"]["scope"]["value"] == "subscription"


def test_modules_are_raw_resources_not_registry_modules():
    for path in bicep_files():
        source = path.read_text(encoding="utf-8")
        assert "br/public:" not in source and "br:" not in source, f"{path}: registry module"
        for name, module in (parse(path).get("modules") or {}).items():
            assert module["type"] == "local", f"{path}: module {name} is not a local file"
            assert (path.parent / module["detail"]["path"]).is_file(), f"{path}: module {name} not found"
