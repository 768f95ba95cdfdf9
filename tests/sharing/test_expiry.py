"""The timers that keep grants honest (shared_code/sharing/expiry.py), on both adapter families and a
FrozenClock: a patient is told once that a share ends soon and once that it has ended, unless they
revoked it; clinic admins are told once per subscription end date. Runs twice, and two instances
interleaved, still tell everyone once; and finding the work is one single-partition query."""
from __future__ import annotations

from datetime import timedelta

from shared_code.clock import iso, parse_time
from shared_code.notifications.contract import GRANT_EXPIRING, SourceRef
from shared_code.notifications.pump import pump_notifications
from shared_code.ports.errors import NotFound
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS
from shared_code.sharing.expiry import GrantExpiryJobs
from shared_code.sharing.grant_repository import EXPIRY_PARTITION
from tests.support.steps import VALID_NHS, add_member, admin, clinician, folder, onboard, patient_id, shared

ALICE = "alice.smith@example.org"
LABEL = "mole on left shoulder"
CONDITION = "suspected melanoma"
CLINIC_EMAIL = "newcastle-derm@nhs.net"
EXPIRING_SUBJECT = "A share of your photographs ends soon"
EXPIRED_SUBJECT = "A share of your photographs has ended"


def _deliver(api) -> list[dict]:
    """Pump the notifications queue through the real dispatcher; the mails sent by it, oldest first."""
    mail = api.container.adapters.mail
    before = mail.count()
    pump_notifications(api.container)
    return list(reversed(mail.list(mail.count() - before))) if mail.count() > before else []


def _assert_nothing_personal(mails: list[dict]) -> None:
    for m in mails:
        body = m["subject"] + m["text"] + m["html"]
        for secret in (VALID_NHS, "943 476 5919", LABEL, CONDITION, "melanoma", "Alice", "Smith"):
            assert secret.lower() not in body.lower(), f"{secret!r} in a mail"


def _setup(api, days: int = 30):
    """Newcastle (admin ada), Alice with an e-mail, an NHS number and a folder with a label and a
    condition, shared for `days`. The onboarding and sharing mails are delivered already."""
    clinic = onboard(api, "NEWCASTLE-DERM", name="Newcastle Dermatology")
    alice = api.patient("alice", "Alice Smith", email=ALICE, nhsNumber=VALID_NHS)
    folder_id = folder(api, alice, label=LABEL, condition=CONDITION)
    grant = shared(api, alice, folder_id, "newcastle-derm", days=days)
    _deliver(api)
    return clinic, alice, grant


def _entry(api, grant_id: str) -> dict | None:
    try:
        return api.container.adapters.documents.read(DIRECTORY, EXPIRY_PARTITION, grant_id).doc
    except NotFound:
        return None


def _share_doc(api, alice, grant_id: str) -> dict:
    return api.container.adapters.documents.read(PATIENTS, patient_id(api, alice), grant_id).doc


def _second_instance(api, documents=None) -> GrantExpiryJobs:
    """Another worker's jobs: same store, clock and outbox, built on its own."""
    return GrantExpiryJobs(documents or api.container.adapters.documents, api.container.clock,
                           outbox=api.container.outbox)


class _Interleaved:
    """A document store that, on the first point read in `container`, lets `then` run to the end
    before handing the read back: another instance doing the same work between our read and write."""

    def __init__(self, inner, container: str, then):
        self._inner, self._container, self._then, self.fired = inner, container, then, False
        self.reads = inner.reads

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def read(self, container, partition_key, id):
        stored = self._inner.read(container, partition_key, id)
        if container == self._container and not self.fired:
            self.fired = True
            self._then()
        return stored


def test_a_share_writes_its_expiry_entry_and_revoking_removes_it(api):
    _, alice, grant = _setup(api)
    entry = _entry(api, grant["id"])
    assert entry is not None and entry["type"] == "grant-expiry"
    assert entry["expiresAt"] == grant["expiresAt"] and entry["clinicId"] == grant["clinicId"]
    assert entry["patientId"] == patient_id(api, alice) and entry["expiringNotified"] is False
    # Ids and times only: nothing about the patient or the folder in the directory.
    assert set(entry) - {"pk", "_etag", "_rid", "_self", "_ts", "_attachments"} == {
        "id", "type", "grantId", "clinicId", "patientId", "expiresAt", "createdAt", "expiringNotified"}
    assert api.client.delete(f"/api/shares/{grant['id']}", headers=alice).status_code == 204
    assert _entry(api, grant["id"]) is None


def test_finding_the_work_is_one_single_partition_query(api):
    onboard(api, "LEEDS-DERM", ends_in=timedelta(days=200))
    _setup(api)
    reads = api.container.adapters.documents.reads
    jobs = api.container.expiry
    for run in (jobs.mark_expired, jobs.warn_expiring, jobs.warn_subscriptions_ending):
        before = reads.snapshot()
        assert run() == 0
        after = reads.snapshot()
        assert after.get("query", 0) - before.get("query", 0) == 1, run.__name__
        assert after.get("point", 0) == before.get("point", 0), run.__name__


def test_a_grant_47_hours_from_expiry_warns_the_patient_once(api):
    _, alice, grant = _setup(api)
    jobs, clock = api.container.expiry, api.container.clock
    clock.advance(days=30, hours=-49)  # 49 h to go: not yet
    assert jobs.warn_expiring() == 0 and _deliver(api) == []
    clock.advance(hours=2)  # 47 h to go
    assert jobs.warn_expiring() == 1
    assert jobs.warn_expiring() == 0  # a second run: already told
    assert jobs.mark_expired() == 0  # not expired yet
    mails = _deliver(api)
    assert [(m["to"], m["subject"]) for m in mails] == [(ALICE, EXPIRING_SUBJECT)]  # the patient; not the clinic
    _assert_nothing_personal(mails)
    assert _share_doc(api, alice, grant["id"])["expiringNotifiedAt"] == iso(clock.now())
    assert _entry(api, grant["id"])["expiringNotified"] is True
    # A later run, and a resend of the same event (the sweeper's, after a crash), change nothing.
    clock.advance(hours=1)
    assert jobs.warn_expiring() == 0
    pid = patient_id(api, alice)
    api.container.outbox.emit(GRANT_EXPIRING, {"patientId": pid, "grantId": grant["id"]}, SourceRef(PATIENTS, pid, grant["id"]),
                lambda event_id: None, dedupe_key=f"grant.expiring:{grant['id']}")
    assert _deliver(api) == []
    # The share is still active to the second, for the clinic as for the patient.
    [listed] = api.client.get(f"/api/folders/{grant['folderId']}/shares", headers=alice).json()["items"]
    assert listed["status"] == "active"


def test_two_instances_interleaved_warn_once(api):
    _setup(api)
    api.container.clock.advance(days=30, hours=-47)
    other = _second_instance(api)
    results = []
    documents = _Interleaved(api.container.adapters.documents, PATIENTS, lambda: results.append(other.warn_expiring()))
    first = _second_instance(api, documents)
    # `first` reads the grant; `other` runs to the end (claims and emits); then `first` writes with a
    # stale ETag, loses, reads again and finds the patient told.
    assert first.warn_expiring() == 0 and documents.fired and results == [1]
    assert [(m["to"], m["subject"]) for m in _deliver(api)] == [(ALICE, EXPIRING_SUBJECT)]


def test_at_expiry_the_patient_is_told_once_and_the_entry_goes(api):
    _, alice, grant = _setup(api)
    jobs, clock = api.container.expiry, api.container.clock
    clock.advance(days=30, seconds=-1)
    assert jobs.mark_expired() == 0  # one second to go
    clock.advance(seconds=1)  # expiresAt: expired, to the second
    assert jobs.warn_expiring() == 0  # expired is not "expiring"
    assert jobs.mark_expired() == 1
    assert jobs.mark_expired() == 0
    mails = _deliver(api)
    assert [(m["to"], m["subject"]) for m in mails] == [(ALICE, EXPIRED_SUBJECT)]
    _assert_nothing_personal(mails)
    assert _share_doc(api, alice, grant["id"])["expiredNotifiedAt"] == iso(clock.now())
    assert _entry(api, grant["id"]) is None  # fully handled
    clock.advance(days=1)
    assert jobs.mark_expired() == 0 and jobs.warn_expiring() == 0 and _deliver(api) == []
    [listed] = api.client.get(f"/api/folders/{grant['folderId']}/shares", headers=alice).json()["items"]
    assert listed["status"] == "expired"


def test_a_share_runs_its_course_warned_then_expired_and_two_instances_tell_once(api):
    _setup(api)
    jobs, clock = api.container.expiry, api.container.clock
    clock.advance(days=29)
    assert jobs.warn_expiring() == 1
    clock.advance(days=1)
    other = _second_instance(api)
    results = []
    documents = _Interleaved(api.container.adapters.documents, PATIENTS, lambda: results.append(other.mark_expired()))
    assert _second_instance(api, documents).mark_expired() == 0 and results == [1]
    assert jobs.mark_expired() == 0
    assert [m["subject"] for m in _deliver(api)] == [EXPIRING_SUBJECT, EXPIRED_SUBJECT]


def test_a_revoked_grant_is_told_nothing(api):
    _, alice, grant = _setup(api)
    jobs, clock = api.container.expiry, api.container.clock
    assert api.client.delete(f"/api/shares/{grant['id']}", headers=alice).status_code == 204
    # Even with an entry left behind (a revocation that died before deleting it): the grant decides.
    jobs.index.add(grant["id"], grant["clinicId"], patient_id(api, alice), grant["expiresAt"], grant["createdAt"])
    clock.advance(days=30, hours=-47)
    assert jobs.warn_expiring() == 0
    assert _entry(api, grant["id"]) is None  # dropped on sight
    jobs.index.add(grant["id"], grant["clinicId"], patient_id(api, alice), grant["expiresAt"], grant["createdAt"])
    clock.advance(days=2)
    assert jobs.mark_expired() == 0 and jobs.warn_expiring() == 0
    assert _entry(api, grant["id"]) is None
    assert _deliver(api) == []
    assert "expiredNotifiedAt" not in _share_doc(api, alice, grant["id"])


def test_an_entry_whose_grant_never_came_to_be_is_dropped(api):
    _, alice, grant = _setup(api)
    jobs = api.container.expiry
    jobs.index.add("g_neverwritten", grant["clinicId"], patient_id(api, alice), grant["expiresAt"], grant["createdAt"])
    api.container.clock.advance(days=31)
    assert jobs.mark_expired() == 1  # the real grant; the orphan is dropped without a word
    assert _entry(api, "g_neverwritten") is None and _entry(api, grant["id"]) is None
    assert [m["subject"] for m in _deliver(api)] == [EXPIRED_SUBJECT]


def test_a_subscription_ending_within_30_days_warns_each_admin_once_per_end_date(api):
    clinic = onboard(api, "NEWCASTLE-DERM", name="Newcastle Dermatology", ends_in=timedelta(days=20))
    onboard(api, "LEEDS-DERM", admin_email="lee@nhs.net", ends_in=timedelta(days=45))  # not yet
    onboard(api, "YORK-DERM", admin_email="yve@nhs.net", ends_in=timedelta(seconds=1))
    ada = clinician(api, "ada", "ada@nhs.net")
    add_member(api, clinic["id"], ada, "bea@nhs.net", role="clinic_admin")
    add_member(api, clinic["id"], ada, "cal@nhs.net")  # a clinician: not told
    _deliver(api)
    jobs, clock = api.container.expiry, api.container.clock
    clock.advance(seconds=1)  # York has ended: nothing to warn of
    assert jobs.warn_subscriptions_ending() == 1
    assert jobs.warn_subscriptions_ending() == 0
    mails = _deliver(api)
    assert sorted(m["to"] for m in mails) == ["ada@nhs.net", "bea@nhs.net"]
    assert {m["subject"] for m in mails} == {
        f"Newcastle Dermatology: the subscription ends on {_day(clinic['subscriptionEndsAt'])}"}
    _assert_nothing_personal(mails)
    assert api.container.adapters.documents.read(CLINICS, clinic["id"], "clinic").doc[
        "subscriptionEndingNotifiedFor"] == clinic["subscriptionEndsAt"]
    # Renewed for 60 days: nothing until that end comes within 30 days, then a new warning.
    renewed = iso(clock.now() + timedelta(days=60))
    response = api.client.patch(f"/api/admin/clinics/{clinic['id']}", headers=admin(api),
                                json={"subscriptionEndsAt": renewed})
    assert response.status_code == 200, response.text
    assert jobs.warn_subscriptions_ending() == 0 and _deliver(api) == []
    clock.advance(days=35)
    assert jobs.warn_subscriptions_ending() == 2  # Newcastle's new end, and Leeds now
    other = _second_instance(api)
    assert other.warn_subscriptions_ending() == 0 and jobs.warn_subscriptions_ending() == 0
    mails = _deliver(api)
    assert sorted(m["to"] for m in mails) == ["ada@nhs.net", "bea@nhs.net", "lee@nhs.net"]
    assert {m["subject"] for m in mails if m["to"] != "lee@nhs.net"} == {
        f"Newcastle Dermatology: the subscription ends on {_day(renewed)}"}


def test_two_instances_interleaved_warn_a_clinic_once(api):
    clinic = onboard(api, "NEWCASTLE-DERM", ends_in=timedelta(days=20))
    _deliver(api)
    other = _second_instance(api)
    results = []
    documents = _Interleaved(api.container.adapters.documents, CLINICS,
                             lambda: results.append(other.warn_subscriptions_ending()))
    assert _second_instance(api, documents).warn_subscriptions_ending() == 0 and results == [1]
    assert [m["to"] for m in _deliver(api)] == ["ada@nhs.net"]
    assert clinic["subscriptionActive"] is True


def _day(value: str) -> str:
    moment = parse_time(value)
    return f"{moment.day} {moment:%B %Y}"
