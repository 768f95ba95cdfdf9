"""Check the safety documents and render them to Markdown: the hazard log, and the data inventory
(scripts/data_inventory.py, generated from the code).

    .venv/bin/python scripts/render_safety_docs.py          # check both YAML sources, write hazard-log.md and data-inventory.md
    .venv/bin/python scripts/render_safety_docs.py --check  # exit 1 if either is invalid or its .md is stale

The source is docs/safety/hazard-log.yaml (what each field means is at its top). Ratings are never
typed: `rating()` computes them from severity and likelihood with the matrix in the YAML, which must
be the standard DCB0129 / DCB0160 matrix. Every implemented control names the pytest node ids that
prove it; they are checked against the test files by parsing them with `ast` (no import, no
collection, no test run), so the check takes a fraction of a second. tests/safety/test_hazard_log.py
runs the same checks in `make test`.

The hazard log's checks import nothing of the application (PyYAML alone); the data inventory does
(its facts are the record classes and Settings), only when main() renders it.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOG_YAML = ROOT / "docs" / "safety" / "hazard-log.yaml"
LOG_MD = ROOT / "docs" / "safety" / "hazard-log.md"
TESTS_DIR = "tests"
REGENERATE = ".venv/bin/python scripts/render_safety_docs.py"

SEVERITIES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very low", "low", "medium", "high", "very high")
# The DCB0129 / DCB0160 matrix: likelihood -> rating for each severity, in SEVERITIES order.
STANDARD_RATINGS: dict[str, tuple[int, ...]] = {
    "very high": (3, 4, 4, 5, 5),
    "high": (2, 3, 3, 4, 5),
    "medium": (2, 2, 3, 3, 4),
    "low": (1, 2, 2, 3, 4),
    "very low": (1, 1, 2, 2, 3),
}
HIGHEST_ACCEPTABLE_RESIDUAL = 3  # 4: mandatory elimination or control; 5: unacceptable

HAZARD_ID = re.compile(r"^H-\d{3}$")
DOCUMENT_FIELDS = ("title", "system", "scope", "not_yet_covered", "deploying_organisation")
HAZARD_FIELDS = ("id", "title", "description", "causes", "effect", "initial", "controls", "residual",
                 "residual_rationale")
OPTIONAL_HAZARD_FIELDS = ("for_deploying_organisation",)
CONTROL_STATUSES = ("implemented", "planned")


# ---------------------------------------------------------------------------------------------
# Loading and the matrix
# ---------------------------------------------------------------------------------------------
def load(path: Path = LOG_YAML) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        loaded = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping at the top")
    return loaded


def rating(matrix: dict[str, Any], severity: str, likelihood: str) -> int:
    """The risk rating (1-5) of a severity and a likelihood, read from the log's matrix."""
    return int(matrix["ratings"][likelihood][list(matrix["severities"]).index(severity)])


def control_status(control: dict[str, Any]) -> str:
    return control.get("status", "implemented")


def control_label(hazard: dict[str, Any], index: int) -> str:
    return f"{hazard['id']}.C{index + 1}"


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# ---------------------------------------------------------------------------------------------
# Checks: each returns a list of problems, one sentence each; empty means all is well.
# ---------------------------------------------------------------------------------------------
def matrix_problems(log: dict[str, Any]) -> list[str]:
    matrix = log.get("matrix")
    if not isinstance(matrix, dict):
        return ["the log has no `matrix`"]
    out = []
    if tuple(matrix.get("severities") or ()) != SEVERITIES:
        out.append(f"matrix.severities must be {list(SEVERITIES)}")
    if tuple(matrix.get("likelihoods") or ()) != LIKELIHOODS:
        out.append(f"matrix.likelihoods must be {list(LIKELIHOODS)}")
    ratings = matrix.get("ratings")
    if not isinstance(ratings, dict) or set(ratings) != set(LIKELIHOODS):
        out.append(f"matrix.ratings must have one row per likelihood: {list(LIKELIHOODS)}")
    else:
        for likelihood, row in STANDARD_RATINGS.items():
            if tuple(ratings[likelihood] or ()) != row:
                out.append(f"matrix.ratings[{likelihood!r}] is {ratings[likelihood]}, but the DCB0129 matrix "
                           f"says {list(row)}")
    for key, expected in (("rating_meanings", (1, 2, 3, 4, 5)), ("severity_meanings", SEVERITIES),
                          ("likelihood_meanings", LIKELIHOODS)):
        meanings = matrix.get(key)
        if not isinstance(meanings, dict) or set(meanings) != set(expected) or not all(
                _text(v) for v in meanings.values()):
            out.append(f"matrix.{key} must give a meaning for each of {list(expected)}")
    return out


def field_problems(log: dict[str, Any]) -> list[str]:
    """Missing or malformed fields of the document, the hazards and their controls."""
    out = []
    document = log.get("document")
    if not isinstance(document, dict):
        out.append("the log has no `document` section")
    else:
        out += [f"document.{name} is missing or empty" for name in DOCUMENT_FIELDS if not _text(document.get(name))]
    hazards = log.get("hazards")
    if not isinstance(hazards, list) or not hazards:
        return out + ["the log has no `hazards` list"]
    for n, hazard in enumerate(hazards, start=1):
        expected_id = f"H-{n:03d}"
        if not isinstance(hazard, dict):
            out.append(f"hazard #{n} is not a mapping")
            continue
        name = hazard.get("id") or f"hazard #{n}"
        for field in HAZARD_FIELDS:
            if field not in hazard or hazard[field] in (None, "", [], {}):
                out.append(f"{name}: `{field}` is missing or empty")
        unknown = set(hazard) - set(HAZARD_FIELDS) - set(OPTIONAL_HAZARD_FIELDS)
        if unknown:
            out.append(f"{name}: unknown field(s) {sorted(unknown)}")
        if hazard.get("id") is not None and (not HAZARD_ID.match(str(hazard["id"])) or hazard["id"] != expected_id):
            out.append(f"{name}: ids run H-001, H-002, ... in order; this one should be {expected_id}")
        for field in ("title", "description", "effect", "residual_rationale"):
            if field in hazard and hazard[field] and not _text(hazard[field]):
                out.append(f"{name}: `{field}` must be text")
        causes = hazard.get("causes")
        if causes and (not isinstance(causes, list) or not all(_text(c) for c in causes)):
            out.append(f"{name}: `causes` must be a list of sentences")
        for part in ("initial", "residual"):
            assessed = hazard.get(part)
            if assessed and not (isinstance(assessed, dict) and {"severity", "likelihood"} <= set(assessed)
                                 and set(assessed) <= {"severity", "likelihood", "rating"}):
                out.append(f"{name}: `{part}` needs `severity` and `likelihood` (and, optionally, `rating`)")
        controls = hazard.get("controls")
        if controls is not None and not isinstance(controls, list):
            out.append(f"{name}: `controls` must be a list")
            continue
        for i, control in enumerate(controls or []):
            out += _control_problems(control_label(hazard, i) if hazard.get("id") else f"{name}.C{i + 1}", control)
    return out


def _control_problems(label: str, control: Any) -> list[str]:
    if not isinstance(control, dict):
        return [f"{label}: a control must be a mapping"]
    out = []
    if not _text(control.get("control")):
        out.append(f"{label}: `control` (what the control is) is missing or empty")
    unknown = set(control) - {"control", "tests", "status", "issue"}
    if unknown:
        out.append(f"{label}: unknown field(s) {sorted(unknown)}")
    status = control_status(control)
    tests = control.get("tests")
    if status not in CONTROL_STATUSES:
        out.append(f"{label}: `status` must be one of {list(CONTROL_STATUSES)}")
    elif status == "implemented":
        if not isinstance(tests, list) or not tests or not all(_text(t) for t in tests):
            out.append(f"{label}: an implemented control names the pytest node id(s) that prove it in `tests` "
                       "(or is `status: planned` with an `issue`)")
        if "issue" in control:
            out.append(f"{label}: `issue` is for planned controls")
    else:
        if not isinstance(control.get("issue"), int) or isinstance(control.get("issue"), bool):
            out.append(f"{label}: a planned control names the issue number that will build it in `issue`")
        if tests:
            out.append(f"{label}: a planned control has no tests yet; when it has, drop `status: planned`")
    return out


def rating_problems(log: dict[str, Any]) -> list[str]:
    """Severities and likelihoods on the scale, typed ratings as the matrix says, residual <= initial."""
    out = []
    if matrix_problems(log):
        return ["the matrix is not valid, so no rating can be computed"]
    matrix = log["matrix"]
    for hazard in log.get("hazards") or []:
        if not isinstance(hazard, dict):
            continue
        name = hazard.get("id", "?")
        computed = {}
        for part in ("initial", "residual"):
            assessed = hazard.get(part)
            if not isinstance(assessed, dict):
                continue
            severity, likelihood = assessed.get("severity"), assessed.get("likelihood")
            if severity not in SEVERITIES:
                out.append(f"{name}: {part} severity {severity!r} is not one of {list(SEVERITIES)}")
                continue
            if likelihood not in LIKELIHOODS:
                out.append(f"{name}: {part} likelihood {likelihood!r} is not one of {list(LIKELIHOODS)}")
                continue
            computed[part] = rating(matrix, severity, likelihood)
            if "rating" in assessed and assessed["rating"] != computed[part]:
                out.append(f"{name}: {part} rating is written as {assessed['rating']!r}, but the matrix gives "
                           f"{computed[part]} for {severity} / {likelihood}")
        if len(computed) == 2:
            if computed["residual"] > computed["initial"]:
                out.append(f"{name}: residual rating {computed['residual']} is higher than the initial "
                           f"{computed['initial']}")
            if computed["residual"] > HIGHEST_ACCEPTABLE_RESIDUAL:
                out.append(f"{name}: residual rating {computed['residual']} is not acceptable (4: mandatory "
                           "elimination or control; 5: unacceptable)")
    return out


def collect_test_nodes(root: Path = ROOT, tests_dir: str = TESTS_DIR) -> set[str]:
    """Node ids of every test function pytest would collect by name, found by parsing the files:
    `path::test_function`, `path::TestClass::test_method` (and nested Test classes). Parametrised
    tests appear once, by function."""
    nodes: set[str] = set()
    base = root / tests_dir
    for path in sorted(base.rglob("*.py")):
        if not (path.name.startswith("test_") or path.name.endswith("_test.py")) or "__pycache__" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue  # a file that does not parse has no tests to name
        module = path.relative_to(root).as_posix()
        nodes.update(f"{module}::{name}" for name in _test_names(tree.body))
    return nodes


def _test_names(body: Iterable[ast.stmt], prefix: str = "") -> Iterator[str]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            yield prefix + node.name
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test") and not any(
                isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "__init__" for n in node.body):
            yield from _test_names(node.body, f"{prefix}{node.name}::")


def named_tests(log: dict[str, Any]) -> list[tuple[str, str]]:
    """(control label, node id) for every test the log names."""
    out = []
    for hazard in log.get("hazards") or []:
        if not isinstance(hazard, dict) or not isinstance(hazard.get("controls"), list):
            continue
        for i, control in enumerate(hazard["controls"]):
            if isinstance(control, dict) and isinstance(control.get("tests"), list):
                out += [(control_label(hazard, i), str(t)) for t in control["tests"]]
    return out


def node_problems(log: dict[str, Any], nodes: set[str]) -> list[str]:
    """Every named test must be a node id that exists today."""
    by_function: dict[str, list[str]] = {}
    for node in nodes:
        by_function.setdefault(node.rsplit("::", 1)[-1], []).append(node)
    out = []
    for label, node in named_tests(log):
        if "[" in node:
            out.append(f"{label}: {node!r}: name the test function without its [parameters]")
            continue
        if "::" not in node or not node.startswith(f"{TESTS_DIR}/"):
            out.append(f"{label}: {node!r} is not a pytest node id under {TESTS_DIR}/ (path.py::test_name)")
            continue
        if node not in nodes:
            moved = sorted(by_function.get(node.rsplit("::", 1)[-1], []))
            hint = f"; a test of that name is now at {', '.join(moved)}" if moved else ""
            out.append(f"{label}: no test {node}{hint}")
    return out


def problems(log: dict[str, Any], root: Path = ROOT) -> list[str]:
    return (field_problems(log) + matrix_problems(log) + rating_problems(log)
            + node_problems(log, collect_test_nodes(root)))


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def _flat(text: Any) -> str:
    return " ".join(str(text).split())


def _cell(text: Any) -> str:
    return _flat(text).replace("|", "\\|")


def _risk(matrix: dict[str, Any], assessed: dict[str, Any]) -> str:
    value = rating(matrix, assessed["severity"], assessed["likelihood"])
    return f"**{value}** ({assessed['severity']} / {assessed['likelihood']})"


def gaps(log: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(hazard, control label, control) of every planned control."""
    return [(h, control_label(h, i), c) for h in log["hazards"] for i, c in enumerate(h["controls"])
            if control_status(c) == "planned"]


def render(log: dict[str, Any]) -> str:
    """The Markdown of a valid log (check it with `problems` first). Deterministic: no dates."""
    doc, matrix, hazards = log["document"], log["matrix"], log["hazards"]
    lines: list[str] = []
    add = lines.append
    add("<!-- Generated from docs/safety/hazard-log.yaml by scripts/render_safety_docs.py: do not edit by hand. -->")
    add(f"# {_flat(doc['title'])}: {_flat(doc['system'])}")
    add("")
    add(f"Clinical risk management under DCB0129 (manufacturer). Regenerate with `{REGENERATE}` after editing "
        "`docs/safety/hazard-log.yaml`; `tests/safety/test_hazard_log.py` fails in `make test` when a named test "
        "does not exist, a field is missing, a rating disagrees with the matrix, or this file is stale. "
        "The system boundary and data flows are in [clinical-safety-and-ig.md](../clinical-safety-and-ig.md).")
    add("")
    add(f"**Scope.** {_flat(doc['scope'])}")
    add("")
    add(f"**Not yet covered.** {_flat(doc['not_yet_covered'])}")
    add("")
    add(f"**DCB0160.** {_flat(doc['deploying_organisation'])}")
    add("")
    add("Ratings are computed from severity and likelihood with the matrix below, never typed. Residual risk "
        "counts implemented controls only; each implemented control names the pytest tests that prove it.")
    add("")

    add("## Summary")
    add("")
    add("| Hazard | Title | Initial risk | Residual risk | Tested controls | Planned controls (gaps) |")
    add("|---|---|---|---|---|---|")
    for h in hazards:
        tested = sum(control_status(c) == "implemented" for c in h["controls"])
        planned = len(h["controls"]) - tested
        add(f"| [{h['id']}](#{h['id'].lower()}) | {_cell(h['title'])} | {_risk(matrix, h['initial'])} | "
            f"{_risk(matrix, h['residual'])} | {tested} | {planned or '-'} |")
    add("")

    planned = gaps(log)
    add("## Gaps: controls planned without tests")
    add("")
    if planned:
        add("These controls are not built yet. Until they are, the residual risk of their hazard does not count "
            "them.")
        add("")
        add("| Control | Hazard | What is planned | Issue |")
        add("|---|---|---|---|")
        for hazard, label, control in planned:
            add(f"| {label} | [{hazard['id']}](#{hazard['id'].lower()}) {_cell(hazard['title'])} | "
                f"{_cell(control['control'])} | issue {control['issue']} |")
    else:
        add("None: every control has a test.")
    add("")

    add("## Risk matrix (DCB0129 / DCB0160)")
    add("")
    severities = list(matrix["severities"])
    add("| Likelihood \\ Severity | " + " | ".join(s.capitalize() for s in severities) + " |")
    add("|---|" + "---|" * len(severities))
    for likelihood in reversed(list(matrix["likelihoods"])):
        add(f"| {likelihood.capitalize()} | " + " | ".join(str(v) for v in matrix["ratings"][likelihood]) + " |")
    add("")
    add("| Rating | Meaning |")
    add("|---|---|")
    for value in sorted(matrix["rating_meanings"], reverse=True):
        add(f"| {value} | {_cell(matrix['rating_meanings'][value])} |")
    add("")
    add("| Severity | Meaning |")
    add("|---|---|")
    for severity in severities:
        add(f"| {severity.capitalize()} | {_cell(matrix['severity_meanings'][severity])} |")
    add("")
    add("| Likelihood | Meaning |")
    add("|---|---|")
    for likelihood in reversed(list(matrix["likelihoods"])):
        add(f"| {likelihood.capitalize()} | {_cell(matrix['likelihood_meanings'][likelihood])} |")
    add("")

    add("## Hazards")
    for h in hazards:
        add("")
        add(f'<a id="{h["id"].lower()}"></a>')
        add("")
        add(f"### {h['id']}: {_flat(h['title'])}")
        add("")
        add("| | |")
        add("|---|---|")
        add(f"| Description | {_cell(h['description'])} |")
        add("| Causes | " + "<br>".join(f"{n}. {_cell(c)}" for n, c in enumerate(h["causes"], start=1)) + " |")
        add(f"| Effect | {_cell(h['effect'])} |")
        add(f"| Initial risk | {_risk(matrix, h['initial'])} |")
        add(f"| Residual risk | {_risk(matrix, h['residual'])} |")
        add(f"| Why this residual | {_cell(h['residual_rationale'])} |")
        if h.get("for_deploying_organisation"):
            add(f"| For the deploying organisation | {_cell(h['for_deploying_organisation'])} |")
        add("")
        add("| Control | What it does | Evidence |")
        add("|---|---|---|")
        for i, c in enumerate(h["controls"]):
            if control_status(c) == "planned":
                evidence = f"**planned** (issue {c['issue']}): no test yet, a gap"
            else:
                evidence = "<br>".join(f"`{_flat(t)}`" for t in c["tests"])
            add(f"| {control_label(h, i)} | {_cell(c['control'])} | {evidence} |")
    add("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the Markdown is stale")
    args = parser.parse_args(argv)
    hazards = _hazard_log(args)
    return _data_inventory(args) or hazards


def _write_or_check(path: Path, text: str, check: bool) -> int:
    current = path.read_text(encoding="utf-8") if path.exists() else None
    name = path.relative_to(ROOT)
    if check:
        if current != text:
            print(f"{name} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        print(f"{name} is up to date")
    elif current != text:
        path.write_text(text, encoding="utf-8")
        print(f"wrote {name}")
    else:
        print(f"{name} unchanged")
    return 0


def _data_inventory(args) -> int:
    if str(ROOT) not in sys.path:  # run as a script, sys.path starts at scripts/
        sys.path.insert(0, str(ROOT))
    from scripts import data_inventory

    inventory = data_inventory.load()
    found = data_inventory.problems(inventory)
    if found:
        print(f"{data_inventory.INVENTORY_YAML.relative_to(ROOT)}: {len(found)} problem(s)", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    return _write_or_check(data_inventory.INVENTORY_MD, data_inventory.render(inventory), args.check)


def _hazard_log(args) -> int:
    log = load()
    found = problems(log)
    if found:
        print(f"{LOG_YAML.relative_to(ROOT)}: {len(found)} problem(s)", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    stale = _write_or_check(LOG_MD, render(log), args.check)
    if args.check:
        return stale
    planned = gaps(log)
    print(f"{len(log['hazards'])} hazards, {len(named_tests(log))} test references, {len(planned)} planned "
          "control(s) without tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
