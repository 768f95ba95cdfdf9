"""The shape of the code, checked: where errors become HTTP, which way imports point, and that
every domain error has its one row in the problem table. Static reads of the source: no emulator."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from shared_code import errors
from shared_code.http.problems import PROBLEMS, problem_for

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "shared_code"
# Where an HTTP answer may be built: the edge and the routers.
HTTP_EDGE = (SHARED / "http", ROOT / "functions")
# Packages that are the domain and its services: no web framework, no Azure SDK.
FRAMEWORK_MODULES = ("fastapi", "starlette", "azure.", "azure")


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted([*SHARED.rglob("*.py"), *(ROOT / "functions").rglob("*.py")]):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Modules imported at module level or inside functions (a lazy import is still an arrow)."""
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from package import module` is an arrow to the module, not to the package's __init__.
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            names.update(submodules or {base})
    # Importing a.b.c runs a/__init__ and a/b/__init__ first: arrows to those packages too, except
    # to the packages the importer itself lives in (they are already being imported).
    own = set(_ancestors(".".join(path.relative_to(ROOT).with_suffix("").parts)))
    found = {n for n in names if n in MODULES}
    return found | {a for n in found for a in _ancestors(n) if a in MODULES and a not in own}


def _ancestors(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _domain_modules() -> list[str]:
    edge = tuple(".".join(p.relative_to(ROOT).parts) for p in HTTP_EDGE)
    return [m for m in MODULES if m.startswith("shared_code") and not m.startswith(edge)
            and not m.startswith("shared_code.adapters") and m not in ("shared_code.problems",)]


def test_every_domain_error_has_its_own_problem_row():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.DomainError) and c.__module__ == errors.__name__]
    missing = [c.__name__ for c in classes if c not in PROBLEMS]
    assert not missing, f"add a row to shared_code/http/problems.py PROBLEMS for {missing}"


@pytest.mark.parametrize("error, status, slug", [
    (errors.ImageNotFound("i_1"), 404, "image-not-found"),
    (errors.GrantRevoked(), 403, "grant-revoked"),
    (errors.KeyServiceUnavailable(), 503, "key-service-unavailable"),
    (errors.InvalidContinuation(), 400, "invalid-continuation"),
    (errors.UploadRejected("corrupt"), 422, "image-rejected"),
])
def test_a_domain_error_becomes_its_problem(error, status, slug):
    problem = problem_for(error)
    assert (problem.status, problem.slug) == (status, slug)
    assert problem.detail


def test_retry_after_and_extensions_reach_the_problem():
    problem = problem_for(errors.KeyServiceUnavailable())
    assert problem.headers == {"Retry-After": "5"}
    rejected = problem_for(errors.UploadRejected("truncated"))
    assert rejected.extensions == {"reason": "truncated"}
    invalid = problem_for(errors.InvalidField(("expiresAt", "must be in the future")))
    assert invalid.extensions["errors"] == [{"field": "expiresAt", "message": "must be in the future"}]
    assert invalid.detail == "expiresAt: must be in the future"


def test_a_new_error_without_a_row_answers_with_its_family():
    class SomethingGone(errors.NotFoundError):
        pass

    assert problem_for(SomethingGone("gone")).status == 404


def test_no_problem_is_built_below_the_http_edge():
    offenders = [m for m in _domain_modules()
                 if {"shared_code.problems", "shared_code.http.problems", "shared_code.http"} & _imports(MODULES[m])]
    assert not offenders, f"raise shared_code.errors instead of building a Problem in {offenders}"


def test_the_domain_imports_no_web_framework_and_no_azure_sdk():
    offenders = {}
    for m in _domain_modules():
        tree = ast.parse(MODULES[m].read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            bad = [n for n in names if n.split(".")[0] in ("fastapi", "starlette") or n.startswith("azure.")]
            if bad:
                offenders[m] = bad
    assert not offenders


def test_no_import_cycles_between_modules():
    graph = {m: _imports(p) - {m} for m, p in MODULES.items()}
    # A package's __init__ importing its own submodules is how a package exposes them, not a cycle.
    for m in graph:
        graph[m] = {d for d in graph[m] if not d.startswith(m + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_one_layout_convention_feature_packages():
    assert not (SHARED / "services").exists(), "services live in their feature package"
    assert not (SHARED / "repositories").exists(), "repositories live in their feature package"
    assert not (SHARED / "problems.py").exists(), "problems are built at the HTTP edge only"
