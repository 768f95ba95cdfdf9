"""The rules of Idempotency-Key records (shared_code/idempotency/) on the fakes: one claim per key
and caller, a key remembered for IDEMPOTENCY_KEY_HOURS and then free, an abandoned claim taken over
once, a refused request's claim released, a patient's records gone with the account.
tests/api/test_idempotency.py runs the same through HTTP on both families."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared_code.idempotency.records import KeyState
from shared_code.idempotency.repository import IdempotencyRepository, caller_partition
from shared_code.settings import Settings
from tests.unit.conftest import clinician, patient

ALICE, CAL = caller_partition(patient("alice")), caller_partition(clinician("cal"))


@pytest.fixture
def records(adapters, clock, tmp_path) -> IdempotencyRepository:
    return IdempotencyRepository(adapters.documents, clock, Settings(LOCAL_DATA_DIR=str(tmp_path)))


def _answer(records, partition: str, key: str, body: str = '{"id":"f_1"}'):
    claim = records.claim(partition, key, None)
    records.complete(partition, claim, "fp", 201, [("location", "/api/folders/f_1")], body)
    return records.usable(records.find(partition, key))


def test_one_claim_per_key_and_caller(records):
    assert records.claim(ALICE, "k", None) is not None
    assert records.claim(ALICE, "k", None) is None          # the second request with the key: 409
    assert records.claim(CAL, "k", None) is not None        # another caller's key is another key
    assert records.usable(records.find(ALICE, "k")).state == KeyState.IN_FLIGHT


def test_an_answer_is_remembered_for_the_configured_hours_then_the_key_is_free(records, clock):
    done = _answer(records, ALICE, "k")
    assert (done.state, done.status, done.fingerprint, done.headers) == (
        KeyState.DONE, 201, "fp", [("location", "/api/folders/f_1")])
    clock.advance(hours=23, minutes=59)
    assert records.usable(records.find(ALICE, "k")) is not None
    clock.advance(minutes=1)
    expired = records.find(ALICE, "k")
    assert records.usable(expired) is None
    assert records.claim(ALICE, "k", expired).state == KeyState.IN_FLIGHT


def test_an_abandoned_claim_is_taken_over_once(records, clock):
    records.claim(ALICE, "k", None)
    clock.advance(seconds=599)
    assert records.usable(records.find(ALICE, "k")) is not None  # still in flight: 409
    clock.advance(seconds=1)
    stale = records.find(ALICE, "k")
    assert records.usable(stale) is None
    assert records.claim(ALICE, "k", stale) is not None
    assert records.claim(ALICE, "k", stale) is None  # a second retry at the same moment loses


def test_a_released_claim_frees_the_key_and_a_stale_release_changes_nothing(records):
    first = records.claim(ALICE, "k", None)
    records.release(ALICE, first)
    second = records.claim(ALICE, "k", None)
    records.release(ALICE, first)  # the old claim's version: the new claim stays
    assert records.find(ALICE, "k").etag == second.etag


def test_a_patients_records_go_with_the_account_and_nobody_elses(records):
    _answer(records, ALICE, "k")
    _answer(records, CAL, "k")
    records.forget(patient("alice").patient_id)
    assert records.find(ALICE, "k") is None and records.find(CAL, "k") is not None


def test_a_key_is_remembered_at_least_a_day():
    with pytest.raises(ValueError):
        Settings(IDEMPOTENCY_KEY_HOURS=23)
    assert timedelta(hours=Settings().idempotency_key_hours) >= timedelta(hours=24)
