"""Retention (shared_code/retention/) on the fakes, with a FrozenClock: an unused account is told
once, then erased after the notice (its patient key first); using it again cancels; a legal hold
stops every retention action for its patient; an erased patient's audit trail goes after its
period; old outbox markers and dedupe records go, young ones stay; every run is audited with its
counts, and a second run does nothing more."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from shared_code import cli
from shared_code.accounts.schemas import AccountIn
from shared_code.clock import iso
from shared_code.errors import AccountNotFound
from shared_code.notifications.contract import ACCOUNT_INACTIVE
from shared_code.notifications.outbox import OUTBOX_PARTITION
from shared_code.notifications.pump import pump_notifications
from shared_code.notifications.sent import SENT_PARTITION
from shared_code.ports.documents import Query
from shared_code.ports.errors import NotFound
from shared_code.retention.repository import AUDIT_DUE, RUNS
from shared_code.settings import AUDIT, DIRECTORY, NOTIFICATIONS_QUEUE, PATIENTS
from shared_code.sharing.records import Actor
from tests.unit.conftest import patient

ALICE_EMAIL = "alice@example.org"


@pytest.fixture
def days(domain):
    s = domain.container.settings
    return s.retention_inactive_account_days, s.retention_inactive_notice_days


def _signed_in(domain, who):
    """What every patient request does through `Patient` (shared_code/http/auth.py)."""
    c = domain.container
    return c.account_activity.seen(c.accounts.require(who.patient_id))


def _alice(domain):
    who = patient("alice")
    domain.container.accounts.put(who.patient_id, AccountIn(displayName="Alice", email=ALICE_EMAIL),
                                  verified_email=ALICE_EMAIL)
    _signed_in(domain, who)
    return who


def _run(domain) -> dict[str, int]:
    return domain.container.retention.run()


def _queued(domain) -> list[dict]:
    return [json.loads(m.body) for m in domain.adapters.queue.peek(NOTIFICATIONS_QUEUE, max_messages=32)]


def _exists(domain, container, partition, doc_id) -> bool:
    try:
        domain.adapters.documents.read(container, partition, doc_id)
        return True
    except NotFound:
        return False


def _audit(domain, partition: str) -> list[dict]:
    return [s.doc for s in domain.adapters.documents.query(AUDIT, Query(partition, limit=200)).items]


def test_an_unused_account_is_warned_once_then_erased_after_the_notice(domain, clock, days):
    inactive, notice = days
    alice = _alice(domain)
    folder_id = domain.folder(alice)
    image = domain.upload(alice, folder_id)
    clock.advance(days=inactive - 1)
    assert _run(domain).get("inactive_notices_sent", 0) == 0 and _queued(domain) == []

    clock.advance(days=1)
    assert _run(domain)["inactive_notices_sent"] == 1
    [message] = _queued(domain)
    assert message["kind"] == ACCOUNT_INACTIVE
    assert set(message["data"]) == {"patientId", "eraseAfter"}  # ids and a time only
    assert "Alice" not in json.dumps(message) and ALICE_EMAIL not in json.dumps(message)
    pump_notifications(domain.container)
    [mail] = domain.adapters.mail.list()
    assert mail["to"] == ALICE_EMAIL and "deleted" in mail["subject"] and "Alice" not in mail["text"]
    assert _run(domain).get("inactive_notices_sent", 0) == 0  # told once

    clock.advance(days=notice - 1)
    assert _run(domain).get("inactive_accounts_erased", 0) == 0
    domain.read(alice, image)  # still there the day before

    clock.advance(days=1)
    assert _run(domain)["inactive_accounts_erased"] == 1
    with pytest.raises(AccountNotFound):
        domain.container.accounts.require(alice.patient_id)
    assert domain.adapters.documents.query(PATIENTS, Query(alice.patient_id, limit=10)).items == []
    assert list(domain.adapters.blobs.list("images", f"{alice.patient_id}/")) == []
    assert _run(domain).get("inactive_accounts_erased", 0) == 0


def test_using_the_account_again_cancels_the_notice(domain, clock, days):
    inactive, notice = days
    alice = _alice(domain)
    clock.advance(days=inactive)
    assert _run(domain)["inactive_notices_sent"] == 1
    clock.advance(days=notice - 1)
    _signed_in(domain, alice)
    clock.advance(days=5)
    assert _run(domain).get("inactive_accounts_erased", 0) == 0
    assert domain.container.accounts.require(alice.patient_id).last_active_at is not None


def test_activity_is_written_at_most_once_a_day(domain, clock):
    alice = _alice(domain)
    account = domain.container.accounts.require(alice.patient_id)
    assert account.last_active_at == iso(clock.now())
    clock.advance(hours=3)
    assert _signed_in(domain, alice).etag == account.etag  # same day: no write
    clock.advance(days=1)
    assert _signed_in(domain, alice).last_active_at == iso(clock.now())


def test_a_legal_hold_stops_notice_erasure_and_audit_deletion_for_that_patient_only(domain, clock, days):
    inactive, notice = days
    alice, bob = _alice(domain), patient("bob")
    domain.container.accounts.put(bob.patient_id, AccountIn(displayName="Bob"))
    _signed_in(domain, bob)
    domain.container.legal_holds.set(alice.patient_id, "CASE-2025-17", "ops")
    clock.advance(days=inactive + notice + 1)
    counts = _run(domain)
    assert counts["inactive_notices_sent"] == 1 and counts["patients_on_hold_skipped"] == 1
    clock.advance(days=notice)
    assert _run(domain)["inactive_accounts_erased"] == 1  # bob
    domain.container.accounts.require(alice.patient_id)  # alice is kept

    assert domain.container.legal_holds.clear(alice.patient_id, "ops")
    assert _run(domain)["inactive_notices_sent"] == 1  # and retention resumes, from the notice
    actions = [e["action"] for e in _audit(domain, alice.patient_id)]
    assert "legal_hold.set" in actions and "legal_hold.cleared" in actions
    assert not domain.container.legal_holds.clear(alice.patient_id, "ops")


def test_an_erased_patients_audit_trail_goes_after_its_period_unless_held(domain, clock):
    alice, bob = _alice(domain), patient("bob")
    domain.container.accounts.put(bob.patient_id, AccountIn(displayName="Bob"))
    for who in (alice, bob):
        domain.container.sharing.audit.record(who.patient_id, "access_log.read", Actor(role="patient"))
        domain.container.accounts.erase(who.patient_id)
    domain.container.legal_holds.set(bob.patient_id, "CASE-9", "ops")
    clock.advance(days=domain.container.settings.retention_audit_days - 1)
    assert _run(domain).get("audit_trails_deleted", 0) == 0 and _audit(domain, alice.patient_id)

    clock.advance(days=1)
    counts = _run(domain)
    assert counts["audit_trails_deleted"] == 1 and counts["audit_entries_deleted"] >= 1
    assert _audit(domain, alice.patient_id) == [] and _audit(domain, bob.patient_id)
    assert not _exists(domain, DIRECTORY, AUDIT_DUE, alice.patient_id)
    assert _run(domain).get("audit_trails_deleted", 0) == 0


def test_old_outbox_markers_and_dedupe_records_go_young_ones_stay(domain, clock):
    documents, s = domain.adapters.documents, domain.container.settings
    documents.create(DIRECTORY, SENT_PARTITION, {"id": "k_old", "type": "notification", "claimedAt": iso(clock.now())})
    clock.advance(days=s.retention_dedupe_days - s.retention_outbox_days)
    documents.create(DIRECTORY, OUTBOX_PARTITION, {"id": "evt_old", "type": "outbox", "createdAt": iso(clock.now())})
    clock.advance(days=s.retention_outbox_days)  # both exactly their period old now
    documents.create(DIRECTORY, OUTBOX_PARTITION, {"id": "evt_new", "type": "outbox", "createdAt": iso(clock.now())})
    documents.create(DIRECTORY, SENT_PARTITION, {"id": "k_new", "type": "notification", "claimedAt": iso(clock.now())})
    counts = _run(domain)
    assert counts["outbox_markers_deleted"] == 1 and counts["dedupe_records_deleted"] == 1
    assert not _exists(domain, DIRECTORY, OUTBOX_PARTITION, "evt_old")
    assert _exists(domain, DIRECTORY, OUTBOX_PARTITION, "evt_new")
    assert not _exists(domain, DIRECTORY, SENT_PARTITION, "k_old")
    assert _exists(domain, DIRECTORY, SENT_PARTITION, "k_new")


def test_every_run_is_audited_with_its_counts(domain, clock):
    _alice(domain)
    first = _run(domain)
    second = _run(domain)
    runs = domain.container.retention_repository.runs()
    assert [r.counts for r in runs] == [second, first]
    assert all(set(r.counts) >= {"patients_on_hold_skipped"} for r in runs)
    assert len(_audit(domain, RUNS)) == 2


def test_the_cli_sets_lists_and_clears_a_hold(domain):
    alice = _alice(domain)
    out = io.StringIO()
    assert cli.main(["legal-hold", "set", "--patient", alice.patient_id, "--reason", "CASE-1", "--by", "ops"],
                    container=domain.container, out=out) == 0
    assert cli.main(["legal-hold", "list"], container=domain.container, out=out) == 0
    assert f'"patientId": "{alice.patient_id}"' in out.getvalue() and "1 patient(s) on legal hold" in out.getvalue()
    assert cli.main(["legal-hold", "clear", "--patient", alice.patient_id, "--by", "ops"],
                    container=domain.container, out=out) == 0
    assert cli.main(["legal-hold", "clear", "--patient", alice.patient_id, "--by", "ops"],
                    container=domain.container, out=out) == 1
