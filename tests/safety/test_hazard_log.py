"""The hazard log (docs/safety/hazard-log.yaml) stays tied to the code: every control names tests
that exist, every hazard has its fields, every rating is the DCB0129 matrix's, and the Markdown is
what the script renders now. Static reads only (YAML and `ast`): no import of the suite, no test
run, no emulator.

When a test here fails, read its message; then edit the YAML and run
`.venv/bin/python scripts/render_safety_docs.py`."""
from __future__ import annotations

import copy
import textwrap

import pytest

from scripts import render_safety_docs as safety


@pytest.fixture(scope="module")
def log():
    return safety.load()


@pytest.fixture(scope="module")
def nodes():
    return safety.collect_test_nodes()


# ---------------------------------------------------------------------------------------------
# The log as committed
# ---------------------------------------------------------------------------------------------
def test_every_named_test_exists(log, nodes):
    assert safety.named_tests(log), "the log names no test at all"
    assert safety.node_problems(log, nodes) == []


def test_every_hazard_and_control_has_its_fields(log):
    assert safety.field_problems(log) == []


def test_the_matrix_is_the_dcb0129_matrix(log):
    matrix = log["matrix"]
    assert matrix["severities"] == ["minor", "significant", "considerable", "major", "catastrophic"]
    assert matrix["likelihoods"] == ["very low", "low", "medium", "high", "very high"]
    assert matrix["ratings"] == {"very high": [3, 4, 4, 5, 5], "high": [2, 3, 3, 4, 5], "medium": [2, 2, 3, 3, 4],
                                 "low": [1, 2, 2, 3, 4], "very low": [1, 1, 2, 2, 3]}
    assert safety.matrix_problems(log) == []


def test_every_rating_is_what_the_matrix_says(log):
    assert safety.rating_problems(log) == []


def test_the_rendered_markdown_is_up_to_date(log):
    committed = safety.LOG_MD.read_text(encoding="utf-8") if safety.LOG_MD.exists() else ""
    assert safety.render(log) == committed, f"docs/safety/hazard-log.md is stale: run {safety.REGENERATE}"


def test_planned_controls_are_listed_as_gaps_with_their_issue(log):
    gaps_section = safety.render(log).split("## Gaps: controls planned without tests", 1)[1].split("\n## ", 1)[0]
    for hazard, label, control in safety.gaps(log):
        assert not control.get("tests") and isinstance(control["issue"], int)
        assert f"| {label} |" in gaps_section and f"issue {control['issue']}" in gaps_section, label


def test_referral_hazards_are_logged_with_their_tests(log):
    """The GP-referred pathway's hazards are in the log, each control proven by referral tests."""
    def named(hazard):
        return [t for control in hazard["controls"] for t in control.get("tests", [])]

    referral = [h for h in log["hazards"] if any(t.startswith("tests/referrals/") for t in named(h))]
    assert len(referral) >= 4
    assert all(control.get("tests") for hazard in referral for control in hazard["controls"])
    assert "not built yet" not in log["document"]["not_yet_covered"]


# ---------------------------------------------------------------------------------------------
# The checker itself: it catches what it must, on a log and a test tree made here
# ---------------------------------------------------------------------------------------------
def _tree(tmp_path):
    (tmp_path / "tests" / "area").mkdir(parents=True)
    (tmp_path / "tests" / "area" / "test_things.py").write_text(textwrap.dedent("""
        import pytest

        def test_plain():
            pass

        @pytest.mark.parametrize("family", ["local", "azure"])
        def test_by_family(family):
            pass

        async def test_async():
            pass

        def helper_not_a_test():
            pass

        class TestGroup:
            def test_method(self):
                pass

            class TestInner:
                def test_deep(self):
                    pass

        class Helper:
            def test_not_collected(self):
                pass

        class TestWithInit:
            def __init__(self):
                pass

            def test_not_collected_either(self):
                pass
    """))
    (tmp_path / "tests" / "area" / "helpers.py").write_text("def test_in_a_helper_module():\n    pass\n")
    (tmp_path / "tests" / "area" / "test_broken.py").write_text("def test_x(:\n")
    return tmp_path


def _log_naming(*tests):
    log = copy.deepcopy(safety.load())
    log["hazards"] = log["hazards"][:1]
    log["hazards"][0]["controls"] = [{"control": "A control.", "tests": list(tests)}]
    return log


def test_nodes_are_functions_and_test_class_methods_found_by_parsing(tmp_path):
    nodes = safety.collect_test_nodes(_tree(tmp_path))
    module = "tests/area/test_things.py"
    assert nodes == {f"{module}::test_plain", f"{module}::test_by_family", f"{module}::test_async",
                     f"{module}::TestGroup::test_method", f"{module}::TestGroup::TestInner::test_deep"}


def test_a_missing_test_is_reported_and_a_moved_one_is_pointed_to(tmp_path):
    nodes = safety.collect_test_nodes(_tree(tmp_path))
    log = _log_naming("tests/area/test_things.py::test_plain",
                      "tests/area/test_things.py::TestGroup::test_method",
                      "tests/area/test_things.py::test_by_family",
                      "tests/area/test_things.py::test_gone",
                      "tests/other/test_old_home.py::test_async",
                      "tests/area/test_things.py::test_by_family[local]",
                      "tests/area/test_things.py",
                      "elsewhere/test_x.py::test_plain")
    found = safety.node_problems(log, nodes)
    assert len(found) == 5, found
    assert "no test tests/area/test_things.py::test_gone" in found[0] and "now at" not in found[0]
    assert "now at tests/area/test_things.py::test_async" in found[1]
    assert "without its [parameters]" in found[2]
    assert "not a pytest node id" in found[3] and "not a pytest node id" in found[4]


def test_a_missing_field_is_reported():
    log = copy.deepcopy(safety.load())
    del log["hazards"][0]["effect"]
    log["hazards"][1]["causes"] = []
    del log["hazards"][2]["residual"]["likelihood"]
    log["hazards"][3]["controls"][0]["tests"] = []
    log["hazards"][4]["controls"].append({"control": "Not built.", "status": "planned"})
    log["hazards"][5]["id"] = "H-099"
    found = "\n".join(safety.field_problems(log))
    assert "H-001: `effect` is missing" in found
    assert "H-002: `causes` is missing" in found
    assert "H-003: `residual` needs `severity` and `likelihood`" in found
    assert "H-004.C1: an implemented control names the pytest node id(s)" in found
    assert "a planned control names the issue number" in found
    assert "should be H-006" in found


def test_a_rating_the_matrix_does_not_give_is_reported():
    log = copy.deepcopy(safety.load())
    log["hazards"][0]["initial"] = {"severity": "major", "likelihood": "medium", "rating": 2}
    log["hazards"][1]["residual"] = {"severity": "catastrophic", "likelihood": "very high"}
    log["hazards"][2]["initial"] = {"severity": "serious", "likelihood": "medium"}
    found = "\n".join(safety.rating_problems(log))
    assert "H-001: initial rating is written as 2, but the matrix gives 3 for major / medium" in found
    assert "H-002: residual rating 5 is higher than the initial 3" in found
    assert "H-002: residual rating 5 is not acceptable" in found
    assert "H-003: initial severity 'serious'" in found
    edited = copy.deepcopy(safety.load())
    edited["matrix"]["ratings"]["low"] = [1, 1, 2, 2, 3]
    assert "the DCB0129 matrix says [1, 2, 2, 3, 4]" in "\n".join(safety.matrix_problems(edited))


def test_a_change_to_the_log_makes_the_committed_markdown_stale(log):
    changed = copy.deepcopy(log)
    changed["hazards"][0]["controls"][0]["tests"] = changed["hazards"][0]["controls"][0]["tests"][:1]
    assert safety.render(changed) != safety.render(log)
