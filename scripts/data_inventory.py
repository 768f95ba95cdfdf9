"""The data inventory, generated from the code: what the service stores, why, where, who reads it,
how long it is kept and how it is erased.

    .venv/bin/python scripts/render_safety_docs.py          # renders this and the hazard log
    .venv/bin/python scripts/render_safety_docs.py --check  # exit 1 if either is invalid or stale

The facts come from the code: every record type (each subclass of shared_code.records.Record in
shared_code/*/records.py, introspected: its fields, stored names and types), the containers, blob
containers and queues (shared_code/settings.py), the retention periods (the Settings defaults and
their environment variables) and the regions (the locations infra/main.bicep allows). The human
parts (purpose, lawful basis, readers, retention rule, erasure, one line per field) live in
docs/safety/data-inventory.yaml, keyed by record type and field. `problems()` reports every record
type or field the YAML does not describe, every one it names that no longer exists, and every
container, queue or partition constant no item accounts for; tests/safety/test_data_inventory.py
runs it in `make test`.

Unlike the hazard log's checker this imports the application (the record classes and Settings); it
imports no Azure SDK and starts nothing.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

INVENTORY_YAML = ROOT / "docs" / "safety" / "data-inventory.yaml"
INVENTORY_MD = ROOT / "docs" / "safety" / "data-inventory.md"
MAIN_BICEP = ROOT / "infra" / "main.bicep"
REGENERATE = ".venv/bin/python scripts/render_safety_docs.py"

DOCUMENT_KEYS = ("container", "partition", "purpose", "basis", "readers", "retention", "erasure", "fields")
PART_KEYS = ("part_of", "purpose", "fields")
ITEM_KEYS = ("name", "kind", "container", "partition", "purpose", "basis", "readers", "retention", "erasure")
ITEM_KINDS = ("document", "blob", "queue")
# A module-level string constant with one of these names is a partition of `directory` (or a
# similar index): the inventory must say what lives there.
PARTITION_CONSTANT = re.compile(r"^[A-Z_]*(_PARTITION|_INDEX)$")
REGION_NAMES = {"uksouth": "UK South", "ukwest": "UK West"}


# ---------------------------------------------------------------------------------------------
# What the code says
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    name: str
    stored: str
    type: str
    required: bool


@dataclass(frozen=True)
class RecordType:
    name: str
    module: str
    bases: tuple[str, ...]
    fields: tuple[Field, ...]  # declared by this class (inherited ones are described on the base)
    document: bool             # has a `type` discriminator: stored as a document of its own


def _type_name(annotation: Any) -> str:
    text = str(annotation) if not isinstance(annotation, type) else annotation.__name__
    text = re.sub(r"\b(?:typing|datetime|shared_code\.[\w.]+)\.", "", text)
    return text.replace("NoneType", "None").replace("<class '", "").replace("'>", "")


def record_types(root: Path = ROOT) -> dict[str, RecordType]:
    """Every Record subclass defined in shared_code/*/records.py, by class name."""
    from shared_code.records import Record

    found: dict[str, RecordType] = {}
    for path in sorted((root / "shared_code").glob("*/records.py")):
        module = importlib.import_module(".".join(path.relative_to(root).with_suffix("").parts))
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, Record) or cls is Record or cls.__module__ != module.__name__:
                continue
            own = [f for f in cls.__dict__.get("__annotations__", {}) if f in cls.model_fields and f != "etag"]
            fields = tuple(Field(f, cls.model_fields[f].alias or f, _type_name(cls.model_fields[f].annotation),
                                 cls.model_fields[f].is_required()) for f in own)
            type_field = cls.model_fields.get("type")
            document = type_field is not None and typing.get_origin(type_field.annotation) is typing.Literal
            found[name] = RecordType(name, module.__name__, tuple(b.__name__ for b in cls.__bases__), fields, document)
    return found


def storage_names() -> dict[str, set[str]]:
    """The containers, blob containers and queues the code uses (shared_code/settings.py)."""
    from shared_code import settings

    return {"document": set(settings.DOCUMENT_CONTAINERS),
            "blob": {settings.IMAGES_CONTAINER, settings.INCOMING_CONTAINER},
            "queue": {settings.NOTIFICATIONS_QUEUE, settings.NOTIFICATIONS_POISON_QUEUE,
                      settings.DECISION_SUPPORT_QUEUE, settings.DECISION_SUPPORT_POISON_QUEUE}}


def partition_constants(root: Path = ROOT) -> dict[str, str]:
    """`module.NAME` -> value of every module-level *_PARTITION / *_INDEX string in shared_code."""
    found = {}
    for path in sorted((root / "shared_code").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and PARTITION_CONSTANT.match(node.targets[0].id) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                found[f"{module}.{node.targets[0].id}"] = node.value.value
    return found


def settings_fields() -> dict[str, tuple[str, Any]]:
    """Settings field -> (environment variable, default)."""
    from shared_code.settings import Settings

    return {name: (f.alias or name.upper(), f.default) for name, f in Settings.model_fields.items()}


def regions(bicep: Path = MAIN_BICEP) -> list[str]:
    """The regions infra/main.bicep allows for `location` (the primary region), in its order."""
    text = bicep.read_text(encoding="utf-8")
    match = re.search(r"@allowed\(\[([^\]]*)\]\)(?:(?!@allowed).)*?\nparam location string", text, re.DOTALL)
    if not match:
        raise ValueError(f"{bicep}: no @allowed list on `param location`")
    return re.findall(r"'([a-z0-9]+)'", match.group(1))


# ---------------------------------------------------------------------------------------------
# Checks: each returns a list of problems, one sentence each
# ---------------------------------------------------------------------------------------------
def load(path: Path = INVENTORY_YAML) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        loaded = yaml.safe_load(f)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping at the top")
    return loaded


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def record_problems(inventory: dict[str, Any], types: dict[str, RecordType]) -> list[str]:
    described = inventory.get("records") or {}
    out = [f"record type {name} ({types[name].module}) is not in the inventory: describe it under `records`"
           for name in types if name not in described]
    out += [f"records.{name}: no such record type in shared_code/*/records.py any more" for name in described
            if name not in types]
    for name, rtype in types.items():
        entry = described.get(name)
        if not isinstance(entry, dict):
            continue
        keys = DOCUMENT_KEYS if rtype.document else PART_KEYS
        out += [f"records.{name}: `{key}` is missing or empty" for key in keys
                if key != "fields" and not entry.get(key)]
        fields = entry.get("fields") or {}
        own = {f.name for f in rtype.fields}
        out += [f"records.{name}.fields: `{f}` ({rtype.module}) is not described" for f in own if f not in fields]
        out += [f"records.{name}.fields: `{f}` is no field of {name} any more" for f in fields if f not in own]
        out += [f"records.{name}.fields.{f}: the description is empty" for f, text in fields.items()
                if f in own and not _text(text)]
        for part in entry.get("part_of") or []:
            if part not in types:
                out.append(f"records.{name}.part_of: no record type {part}")
    return out


def _places(inventory: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, entry) of every stored item: the document record types and the other items."""
    types = inventory.get("records") or {}
    items = [(f"records.{n}", e) for n, e in types.items() if isinstance(e, dict) and "container" in e]
    return items + [(f"items.{i.get('name', n)}", i) for n, i in enumerate(inventory.get("items") or [])]


def place_problems(inventory: dict[str, Any], names: dict[str, set[str]], settings: dict[str, tuple[str, Any]],
                   constants: dict[str, str]) -> list[str]:
    out = []
    bases = inventory.get("bases") or {}
    rules = inventory.get("retention") or {}
    for rule_id, rule in rules.items():
        if not _text((rule or {}).get("rule")):
            out.append(f"retention.{rule_id}: `rule` is missing")
        out += [f"retention.{rule_id}: no setting {s} in shared_code/settings.py" for s in (rule or {}).get("settings", [])
                if s not in settings]
    all_names = set().union(*names.values())
    covered: set[str] = set()
    sources: set[str] = set()
    for n, item in enumerate(inventory.get("items") or []):
        label = f"items[{n}] ({item.get('name')})"
        out += [f"{label}: `{key}` is missing or empty" for key in ITEM_KEYS
                if not item.get(key) and not (key == "partition" and item.get("kind") == "queue")]
        if item.get("kind") not in ITEM_KINDS:
            out.append(f"{label}: kind must be one of {list(ITEM_KINDS)}")
        elif item.get("container") not in names[item["kind"]]:
            out.append(f"{label}: no {item['kind']} container {item.get('container')!r} in shared_code/settings.py")
    for label, entry in _places(inventory):
        container = entry.get("container")
        if container not in all_names:
            out.append(f"{label}: no container {container!r} in shared_code/settings.py")
        covered.add(container)
        out += [f"{label}: no lawful basis {b!r} under `bases`" for b in entry.get("basis") or [] if b not in bases]
        if entry.get("retention") not in rules:
            out.append(f"{label}: no retention rule {entry.get('retention')!r} under `retention`")
        source = entry.get("source")
        if source is not None:
            sources.add(source)
            if source not in constants:
                out.append(f"{label}: source {source} is no *_PARTITION / *_INDEX constant in shared_code")
            elif constants[source] != entry.get("partition"):
                out.append(f"{label}: {source} is {constants[source]!r}, but the partition says {entry.get('partition')!r}")
    out += [f"container or queue {c!r} (shared_code/settings.py) holds no item of the inventory" for c in
            sorted(all_names - covered)]
    out += [f"{c} = {v!r}: no item of the inventory names this partition (give it `source: {c}`)"
            for c, v in sorted(constants.items()) if c not in sources]
    return out


def problems(inventory: dict[str, Any]) -> list[str]:
    out = [f"`{key}` is missing" for key in ("document", "bases", "retention", "records", "items") if not inventory.get(key)]
    if out:
        return out
    return (record_problems(inventory, record_types())
            + place_problems(inventory, storage_names(), settings_fields(), partition_constants()))


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _where(entry: dict[str, Any], region: str) -> str:
    kind = entry.get("kind", "document")
    what = {"document": "Cosmos DB", "blob": "Blob Storage", "queue": "Storage queue"}[kind]
    partition = f" / {entry['partition']}" if entry.get("partition") else ""
    return f"{what} `{entry['container']}`{partition}; {region}"


def _kept(rule: dict[str, Any], settings: dict[str, tuple[str, Any]]) -> str:
    periods = [f"`{settings[s][0]}` = {settings[s][1]}" for s in rule.get("settings", [])]
    return _cell(rule["rule"]) + (f" ({', '.join(periods)})" if periods else "")


def _rule_ref(rule_id: str, rules: dict[str, Any], settings: dict[str, tuple[str, Any]]) -> str:
    """The rule's id and the variables that set its periods (the schedule table says the rest)."""
    names = [f"`{settings[s][0]}`" for s in rules[rule_id].get("settings", [])]
    return f"`{rule_id}`" + (f" ({', '.join(names)})" if names else "")


def render(inventory: dict[str, Any]) -> str:
    """The Markdown of a valid inventory (check it with `problems` first). Deterministic."""
    types, settings = record_types(), settings_fields()
    allowed = regions()
    region = (f"{REGION_NAMES.get(allowed[0], allowed[0])} (primary), replicated to "
              + ", ".join(REGION_NAMES.get(r, r) for r in allowed[1:]))
    bases, rules, records = inventory["bases"], inventory["retention"], inventory["records"]
    lines: list[str] = []
    add = lines.append
    add("<!-- Generated from the code and docs/safety/data-inventory.yaml by scripts/render_safety_docs.py: "
        "do not edit by hand. -->")
    add(f"# {_cell(inventory['document']['title'])}")
    add("")
    add(_cell(inventory["document"]["summary"]))
    add("")
    add(f"Regenerate with `{REGENERATE}`. `tests/safety/test_data_inventory.py` fails when a record type or "
        "field is not described here, when this names one that no longer exists, when a container, queue or "
        "partition holds nothing described, or when this file is stale.")
    add("")
    add(f"**Regions** (from `infra/main.bicep`): {region}. Every copy, backup and replica stays in these regions.")
    add("")
    add("## Lawful bases")
    add("")
    add("| Basis | What it means here |")
    add("|---|---|")
    for basis_id, text in bases.items():
        add(f"| `{basis_id}` | {_cell(text)} |")
    add("")
    add("## Retention schedule")
    add("")
    add("Periods are settings (`shared_code/settings.py`, with their defaults); the reasons are in "
        "[clinical-safety-and-ig.md](../clinical-safety-and-ig.md#retention).")
    add("")
    add("| Rule | How long | Applied by |")
    add("|---|---|---|")
    for rule_id, rule in rules.items():
        add(f"| `{rule_id}` | {_kept(rule, settings)} | {_cell(rule.get('applied_by', '-'))} |")
    add("")
    add("## Every stored item")
    add("")
    add("| Item | Purpose | Lawful basis | Where | Who can read it | How long | How it is erased |")
    add("|---|---|---|---|---|---|---|")
    for label, entry in _places(inventory):
        name = label.split(".", 1)[1]
        link = f"[{name}](#{name.lower()})" if label.startswith("records.") else name
        add(f"| {link} | {_cell(entry['purpose'])} | {', '.join(f'`{b}`' for b in entry['basis'])} | "
            f"{_cell(_where(entry, region))} | {_cell(entry['readers'])} | {_rule_ref(entry['retention'], rules, settings)} | "
            f"{_cell(entry['erasure'])} |")
    add("")
    add("## Record types and their fields")
    add("")
    add("Field names as the code has them, the stored (JSON) name, the type, and what it holds. A record "
        "type that is part of another is stored inside it.")
    for name, rtype in types.items():
        entry = records[name]
        add("")
        add(f'<a id="{name.lower()}"></a>')
        add("")
        add(f"### {name}")
        add("")
        origin = f"`{rtype.module}`" + (f", extends {', '.join(b for b in rtype.bases if b != 'Record')}"
                                        if set(rtype.bases) - {"Record"} else "")
        if rtype.document:
            add(f"{_cell(entry['purpose'])} Stored in `{entry['container']}` / {entry['partition']}. ({origin})")
        else:
            add(f"{_cell(entry['purpose'])} Part of {', '.join(entry['part_of'])}. ({origin})")
        add("")
        if not rtype.fields:
            add("No fields of its own.")
            continue
        add("| Field | Stored as | Type | What it holds |")
        add("|---|---|---|---|")
        for field in rtype.fields:
            add(f"| `{field.name}` | `{field.stored}` | `{_cell(field.type)}`{'' if field.required else ' (optional)'} | "
                f"{_cell(entry['fields'][field.name])} |")
    add("")
    return "\n".join(lines)
