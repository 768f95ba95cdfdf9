"""Clinic codes: a code once used by a clinic is never given to another one."""
import pytest

from shared_code.errors import ClinicCodeNotFound, ClinicCodeTaken
from shared_code.settings import DIRECTORY
from shared_code.sharing import codes
from tests.unit.conftest import clinician


def test_a_rotated_away_code_stays_reserved_and_resolves_to_nothing(domain, scene):
    clinics = domain.container.sharing.clinics
    new = clinics.rotate_code(clinician("ada"), scene.clinic_id)
    entry = domain.adapters.documents.read(DIRECTORY, "clinic-codes", "ALPHA-DERM").doc
    assert entry["clinicId"] == scene.clinic_id and entry["retiredAt"]
    with pytest.raises(ClinicCodeNotFound):
        clinics.lookup(scene.alice.patient_id, "alpha-derm")
    with pytest.raises(ClinicCodeTaken):
        domain.clinic("ALPHA-DERM", admin_email="eve@nhs.net")
    assert clinics.lookup(scene.alice.patient_id, new)["clinicId"] == scene.clinic_id


def test_rotation_of_another_clinic_cannot_take_a_retired_code(domain, scene, monkeypatch):
    clinics = domain.container.sharing.clinics
    clinics.rotate_code(clinician("ada"), scene.clinic_id)
    other = domain.clinic("BETA-DERM", admin_email="bea@nhs.net")
    proposals = iter(["ALPHA-DERM", "BETA-FRESH"])
    monkeypatch.setattr(codes, "rotated", lambda old: next(proposals))
    assert clinics.rotate_code(clinician("bea"), other) == "BETA-FRESH"
    with pytest.raises(ClinicCodeNotFound):
        clinics.lookup(scene.alice.patient_id, "ALPHA-DERM")
