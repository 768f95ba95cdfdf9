"""The data inventory (docs/safety/data-inventory.yaml + the code -> data-inventory.md) stays true:
every record type and field of shared_code/*/records.py is described and nothing described is gone,
every container, queue and partition constant holds something described, every retention rule names
real settings, and the Markdown is what the script renders now.

When a test here fails, read its message; then edit the YAML and run
`.venv/bin/python scripts/render_safety_docs.py`."""
from __future__ import annotations

import copy
import dataclasses

import pytest

from scripts import data_inventory as inv
from shared_code.settings import Settings


@pytest.fixture(scope="module")
def inventory():
    return inv.load()


@pytest.fixture(scope="module")
def types():
    return inv.record_types()


# --- the inventory as committed ---------------------------------------------------------------
def test_the_inventory_describes_every_record_type_field_container_and_partition(inventory):
    assert inv.problems(inventory) == []


def test_the_rendered_markdown_is_up_to_date(inventory):
    committed = inv.INVENTORY_MD.read_text(encoding="utf-8") if inv.INVENTORY_MD.exists() else ""
    assert inv.render(inventory) == committed, f"docs/safety/data-inventory.md is stale: run {inv.REGENERATE}"


def test_the_record_types_are_read_from_the_code(types):
    account = types["AccountRecord"]
    assert account.document and not types["NotificationSettings"].document
    stored = {f.name: f.stored for f in account.fields}
    assert stored["nhs_number"] == "nhsNumber" and stored["last_active_at"] == "lastActiveAt"
    # Inherited fields are described once, on the class that declares them.
    assert {f.name for f in types["Share"].fields} == {"type", "expiring_notified_at", "expired_notified_at"}
    assert "purposes" in {f.name for f in types["GrantTerms"].fields}


def test_the_periods_and_regions_come_from_the_settings_and_the_infra(inventory):
    text = inv.render(inventory)
    assert f"`RETENTION_AUDIT_DAYS` = {Settings.model_fields['retention_audit_days'].default}" in text
    assert f"`INCOMING_SWEEP_HOURS` = {Settings.model_fields['incoming_sweep_hours'].default}" in text
    assert inv.regions() == ["uksouth", "ukwest"] and "UK South (primary), replicated to UK West" in text


# --- the checker catches what it must -----------------------------------------------------------
def _with_field(types, record: str, field: str):
    changed = dict(types)
    rtype = changed[record]
    changed[record] = dataclasses.replace(rtype, fields=(*rtype.fields, inv.Field(field, "shoeSize", "int", True)))
    return changed


def test_a_record_type_that_gains_a_field_is_reported(inventory, types):
    found = inv.record_problems(inventory, _with_field(types, "AccountRecord", "shoe_size"))
    assert found == ["records.AccountRecord.fields: `shoe_size` (shared_code.accounts.records) is not described"]


def test_a_described_field_or_type_that_no_longer_exists_is_reported(inventory, types):
    stale = copy.deepcopy(inventory)
    stale["records"]["ImageRecord"]["fields"]["exif_gps"] = "Where the photograph was taken."
    stale["records"]["Prescription"] = {"part_of": ["AccountRecord"], "purpose": "x", "fields": {}}
    found = inv.record_problems(stale, types)
    assert "records.ImageRecord.fields: `exif_gps` is no field of ImageRecord any more" in found
    assert "records.Prescription: no such record type in shared_code/*/records.py any more" in found


def test_a_new_record_type_and_an_empty_description_are_reported(inventory, types):
    edited = copy.deepcopy(inventory)
    del edited["records"]["Consent"]
    edited["records"]["Comment"]["fields"]["text"] = " "
    del edited["records"]["Grant"]["readers"]
    found = inv.record_problems(edited, types)
    assert any(p.startswith("record type Consent (shared_code.sharing.records) is not in the inventory") for p in found)
    assert "records.Comment.fields.text: the description is empty" in found
    assert "records.Grant: `readers` is missing or empty" in found


def test_an_undescribed_container_partition_or_setting_is_reported(inventory):
    names = inv.storage_names()
    names["queue"].add("referrals")
    constants = {**inv.partition_constants(), "shared_code.referrals.repository.WORKLIST_PARTITION": "worklist"}
    edited = copy.deepcopy(inventory)
    edited["retention"]["audit"]["settings"] = ["retention_audit_years"]
    edited["records"]["ExpiryEntry"]["partition"] = "grant-ends"
    found = inv.place_problems(edited, names, inv.settings_fields(), constants)
    assert "container or queue 'referrals' (shared_code/settings.py) holds no item of the inventory" in found
    assert any(p.startswith("shared_code.referrals.repository.WORKLIST_PARTITION = 'worklist'") for p in found)
    assert "retention.audit: no setting retention_audit_years in shared_code/settings.py" in found
    assert any("EXPIRY_PARTITION is 'grant-expiry', but the partition says 'grant-ends'" in p for p in found)
