"""(c) checkov finds no failed check in infra/, and really checked it (passed checks > 0, no
parsing errors). Every suppression is an inline `// checkov:skip=ID: reason` with a reason.

Checkov has heavy pinned dependencies, so it lives in its own venv, .venv-infra, which
`make test` creates from requirements-infra.txt. Without it this test fails (it never skips)."""
from __future__ import annotations

import functools
import json
import re
import subprocess

import pytest

from tests.infra.bicep import INFRA, REPO, bicep_files

CHECKOV = REPO / ".venv-infra" / "bin" / "checkov"


@functools.lru_cache(maxsize=1)
def _run_checkov() -> tuple[dict | None, str]:
    """(the bicep report, "") or (None, why not). Run once per session."""
    if not CHECKOV.exists():
        return None, f"{CHECKOV} is missing: run `make test` (it creates .venv-infra from requirements-infra.txt)"
    proc = subprocess.run(
        [str(CHECKOV), "--framework", "bicep", "--skip-download", "--directory", str(INFRA), "--output", "json"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None, f"checkov printed no JSON (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    reports = data if isinstance(data, list) else [data]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    if len(bicep) != 1:
        return None, f"checkov returned no bicep report: {proc.stdout[-3000:]}"
    return bicep[0], ""


def _report() -> dict:
    # Called inside each test, so a missing checkov is a test FAILURE (not a setup error, not a skip).
    data, why = _run_checkov()
    if data is None:
        pytest.fail(why, pytrace=False)
    return data


def test_checkov_parsed_every_file():
    report = _report()
    assert report["summary"]["parsing_errors"] == 0, (
        "checkov could not parse: " + ", ".join(report["results"].get("parsing_errors", []))
        + " (checkov's own pycep is older than ours: e.g. at most 4 comment lines in a row inside"
        " an object, 10 right after an opening brace)"
    )
    assert report["summary"]["resource_count"] > 0


def test_checkov_passes_with_zero_failed_checks():
    report = _report()
    failed = [
        f"{r['check_id']} {r['check_name']} ({r['file_path']} {r['resource']})"
        for r in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed:\n" + "\n".join(failed)
    assert report["summary"]["failed"] == 0


def test_checkov_actually_ran_checks():
    report = _report()
    assert report["summary"]["passed"] > 0
    checked_files = {r["file_path"].lstrip("/") for r in report["results"]["passed_checks"]}
    for module in ("storage.bicep", "cosmos.bicep", "keyvault.bicep", "functionapp.bicep"):
        assert f"modules/{module}" in checked_files, f"checkov checked nothing in {module}"


def test_every_suppression_has_a_reason():
    report = _report()
    for result in report["results"]["skipped_checks"]:
        comment = (result.get("check_result") or {}).get("suppress_comment", "")
        assert comment and comment != "No comment provided" and len(comment) > 20, (
            f"{result['check_id']} in {result['file_path']} is skipped without a reason"
        )


def test_every_inline_suppression_is_used():
    report = _report()
    """A skip comment for a check that no longer fires is stale: remove it."""
    used = {(r["file_path"].lstrip("/"), r["check_id"]) for r in report["results"]["skipped_checks"]}
    pattern = re.compile(r"//\s*checkov:skip=([A-Z0-9_]+):\s*(\S.*)")
    for path in bicep_files():
        rel = str(path.relative_to(INFRA))
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                match = pattern.search(line)
                assert match, f"{rel}: malformed suppression (// checkov:skip=ID: reason): {line.strip()}"
                assert (rel, match.group(1)) in used, f"{rel}: suppression of {match.group(1)} is unused"
