"""Parsing helpers for the infra checks: pycep JSON plus a few resolvers.

pycep turns a Bicep file into JSON in which a string literal and a reference to a parameter or
variable look the same (both are plain strings), so `resolve` follows variable names to their
values and marks parameter names as `Param(name)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pycep import BicepParser

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
UK_REGIONS = {"uksouth", "ukwest"}


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@lru_cache(maxsize=1)
def _parser() -> BicepParser:
    return BicepParser()


@lru_cache(maxsize=None)
def parse(path: Path) -> dict[str, Any]:
    """Parse one file; raises on a file pycep cannot parse (the test then fails)."""
    return _parser().parse(file_path=path)


def doc(name: str) -> dict[str, Any]:
    """Parsed infra file by path relative to infra/, e.g. 'modules/storage.bicep'."""
    return parse(INFRA / name)


def all_docs() -> dict[str, dict[str, Any]]:
    return {str(path.relative_to(INFRA)): parse(path) for path in bicep_files()}


@dataclass(frozen=True)
class Param:
    name: str


def resolve(d: dict[str, Any], value: Any, _depth: int = 0) -> Any:
    """Follow variable names to their values; parameter names become Param(name)."""
    if _depth > 20 or not isinstance(value, str):
        return value
    variables = d.get("variables") or {}
    parameters = d.get("parameters") or {}
    if value in variables:
        return resolve(d, variables[value]["value"], _depth + 1)
    if value in parameters:
        return Param(value)
    return value


def resources(d: dict[str, Any], type_: str | None = None) -> dict[str, dict[str, Any]]:
    """Resources of a parsed file (optionally of one type), each with its `config` unwrapped from
    loops and conditions."""
    out = {}
    for name, res in (d.get("resources") or {}).items():
        if type_ is not None and res["type"].lower() != type_.lower():
            continue
        out[name] = res
    return out


def config(res: dict[str, Any]) -> dict[str, Any]:
    """A resource's body, unwrapped from `if (...)` conditions and `[for ...]` loops."""
    cfg = res["config"]
    while isinstance(cfg, dict) and "config" in cfg and ("condition" in cfg or "loop_type" in cfg):
        cfg = cfg["config"]
    return cfg


def all_resources(type_: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(file, symbolic name, resource) for every resource of `type_` in every file."""
    found = []
    for file, d in all_docs().items():
        for name, res in resources(d, type_).items():
            found.append((file, name, res))
    return found


def one(d: dict[str, Any], type_: str) -> dict[str, Any]:
    found = resources(d, type_)
    assert len(found) == 1, f"expected exactly one {type_}, found {sorted(found)}"
    return next(iter(found.values()))


def leaves(value: Any) -> Iterator[Any]:
    """Every operand scalar inside a parsed expression (not the operator/function names)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k != "type":
                yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def decorators(param: dict[str, Any]) -> dict[str, Any]:
    return {deco["type"]: deco.get("argument") for deco in param.get("decorators") or []}

