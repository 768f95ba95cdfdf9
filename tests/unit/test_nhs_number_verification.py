"""NHS number verification on the fakes (accounts/verification.py, accounts/nhs_numbers.py): a
number typed by a patient is unverified until traced against the demographics service with the
account's date of birth and family name; a changed number (or name, or date of birth) is unverified
again; a failed or unconfigured trace never fails the request; the clinician sees whether the number
was traced and whether another account holds it; the EPR export carries UK Core's verification
status. tests/api/test_me.py and tests/sharing/test_clinician.py run the same through HTTP, with the
PDS double over HTTPS."""
from __future__ import annotations

import dataclasses
import json
from datetime import date
from types import SimpleNamespace

import pytest

from shared_code.access import EXPORT_EPR, VIEW
from shared_code.accounts.nhs_numbers import NHS_NUMBER_PARTITION
from shared_code.accounts.schemas import AccountIn
from shared_code.ports.documents import Query
from shared_code.settings import DIRECTORY
from shared_code.ports.demographics import DemographicRecord, DemographicsUnavailable
from shared_code.sharing.fhir_export import NHS_NUMBER_VERIFICATION
from tests.support.steps import VALID_NHS
from tests.unit.conftest import clinician, patient

OTHER_NHS = "9876543210"
BORN = date(1980, 2, 29)


class FakeDemographics:
    """The demographics port in memory: the patients it files, by NHS number; `down` makes it fail."""

    def __init__(self):
        self.patients: dict[str, DemographicRecord] = {}
        self.down = False
        self.lookups = 0

    def file(self, nhs_number: str, family: str, born: date, *, filed_under: str | None = None) -> None:
        self.patients[nhs_number] = DemographicRecord(filed_under or nhs_number, (family,), born)

    def lookup(self, nhs_number: str) -> DemographicRecord | None:
        self.lookups += 1
        if self.down:
            raise DemographicsUnavailable("down")
        return self.patients.get(nhs_number)


@pytest.fixture
def pds() -> FakeDemographics:
    service = FakeDemographics()
    service.file(VALID_NHS, "Smith", BORN)
    return service


@pytest.fixture
def traced_domain(new_domain, clock, adapters, pds):
    return new_domain(clock, dataclasses.replace(adapters, demographics=pds))


def _put(domain, subject="alice", name="Alice Smith", nhs=VALID_NHS, born=BORN):
    who = patient(subject)
    account, _ = domain.container.accounts.put(who.patient_id, AccountIn(displayName=name, nhsNumber=nhs,
                                                                           dateOfBirth=born))
    return account


def test_a_number_traced_with_the_accounts_name_and_birth_date_is_verified(traced_domain):
    account = _put(traced_domain)
    assert account.nhs_number_verified is True and account.public()["nhsNumberVerified"] is True


@pytest.mark.parametrize("name, born", [("Alice Jones", BORN), ("Alice Smith", date(1980, 3, 1)),
                                        ("Alice Smithson", BORN), ("Alice Smith", None)])
def test_a_trace_that_does_not_match_leaves_the_number_unverified(traced_domain, name, born):
    assert _put(traced_domain, name=name, born=born).nhs_number_verified is False


def test_a_superseded_number_is_not_verified(traced_domain, pds):
    pds.file(OTHER_NHS, "Smith", BORN, filed_under=VALID_NHS)  # PDS answers with the current number
    assert _put(traced_domain, nhs=OTHER_NHS).nhs_number_verified is False


def test_a_changed_number_name_or_birth_date_is_unverified_again(traced_domain, pds):
    assert _put(traced_domain).nhs_number_verified is True
    assert _put(traced_domain, nhs=OTHER_NHS).nhs_number_verified is False  # PDS knows no such patient
    assert _put(traced_domain).nhs_number_verified is True
    pds.down = True
    assert _put(traced_domain, name="Alice Smith-Jones").nhs_number_verified is False
    assert _put(traced_domain, name="Alice Smith").nhs_number_verified is False  # a new trace is needed


def test_a_failed_trace_never_fails_the_request(traced_domain, pds):
    pds.down = True
    account = _put(traced_domain)
    assert account.nhs_number == VALID_NHS and account.nhs_number_verified is False


def test_a_verified_account_is_not_traced_again_while_nothing_changes(traced_domain, pds):
    _put(traced_domain)
    _put(traced_domain)
    assert pds.lookups == 1


def test_without_a_demographics_service_numbers_stay_unverified(domain):
    account = _put(domain)
    assert account.nhs_number_verified is False and account.public()["nhsNumberVerified"] is False


# --- what the clinician sees -----------------------------------------------------------------------
def _detail_and_export(domain, scene, who) -> tuple[dict, dict]:
    grant = domain.share(who, scene.folder_id, "alpha-derm", purposes=("medical_record",))
    image = domain.upload(who, scene.folder_id)
    access = domain.container.access
    detail = domain.container.clinician.detail(access.grant(scene.cal, scene.clinic_id, grant["id"], VIEW))
    bundle = json.loads(domain.container.clinician.export(
        access.image(scene.cal, scene.clinic_id, grant["id"], image.id, EXPORT_EPR)))
    return detail["patient"], bundle["entry"][0]["resource"]


def _status(patient_resource: dict) -> str:
    [identifier] = patient_resource["identifier"]
    [extension] = identifier["extension"]
    assert extension["url"] == NHS_NUMBER_VERIFICATION
    return extension["valueCodeableConcept"]["coding"][0]["code"]


def test_an_untraced_number_is_shown_and_exported_as_not_traced(domain, scene):
    _put(domain)
    patient_seen, resource = _detail_and_export(domain, scene, scene.alice)
    assert (patient_seen["nhsNumber"], patient_seen["nhsNumberVerified"]) == (VALID_NHS, False)
    assert _status(resource) == "02"


def test_a_traced_number_is_shown_and_exported_as_verified(traced_domain):
    clinic_id = traced_domain.clinic("ALPHA-DERM")
    traced_domain.member(clinic_id, "cal@nhs.net")
    alice = patient("alice")
    _put(traced_domain)
    scene = SimpleNamespace(clinic_id=clinic_id, cal=clinician("cal"), folder_id=traced_domain.folder(alice))
    patient_seen, resource = _detail_and_export(traced_domain, scene, alice)
    assert patient_seen["nhsNumberVerified"] is True and _status(resource) == "01"


def test_a_number_on_another_account_is_flagged_until_that_account_lets_it_go(domain, scene):
    _put(domain)
    grant = domain.share(scene.alice, scene.folder_id, "alpha-derm")
    access = domain.container.access.grant(scene.cal, scene.clinic_id, grant["id"], VIEW)

    def shared() -> bool:
        return domain.container.clinician.detail(access)["patient"]["nhsNumberShared"]

    assert shared() is False
    _put(domain, "mallory", "Mallory Smith")
    assert shared() is True
    _put(domain, "mallory", "Mallory Smith", nhs=OTHER_NHS)
    assert shared() is False
    _put(domain, "mallory", "Mallory Smith")
    domain.container.accounts.erase(patient("mallory").patient_id)
    assert shared() is False


def test_the_index_never_uses_the_number_as_an_id(domain):
    _put(domain)
    entries = domain.adapters.documents.query(DIRECTORY, Query(NHS_NUMBER_PARTITION)).items
    assert len(entries) == 1 and VALID_NHS not in entries[0].doc["id"]
