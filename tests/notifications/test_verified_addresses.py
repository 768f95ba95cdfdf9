"""Mail to a patient goes only to an address the identity provider verified (issue 10, section 2; the
reasoning is in shared_code/accounts/service.py): PUT /api/me marks `emailVerified` from the token's
verified e-mail, and the dispatcher mails nobody else. On both adapter families, through the API,
the outbox, the queue and the dev outbox."""
from __future__ import annotations

from shared_code.notifications import contract as k
from shared_code.notifications.pump import pump_notifications
from tests.notifications import helpers
from tests.support import steps

BOB = "bob@example.org"
STRANGER = "someone.else@example.org"


def _comment_mails(api, family, headers, n: int) -> list[str]:
    """A comment event for the caller, pumped through the dispatcher: who the dev outbox mailed."""
    patient_id = steps.patient_id(api, headers)
    source = k.SourceRef("patients", patient_id, f"cmt_{n}")
    data = {"patientId": patient_id, "folderId": "fld_v", "commentId": f"cmt_{n}"}
    api.container.outbox.emit(k.COMMENT_CREATED, data, source,
                              steps.event_writer(family.documents, source, {"type": "comment", "text": "x"}))
    before = api.container.adapters.mail.count()
    pump_notifications(api.container)
    return [m["to"] for m in api.container.adapters.mail.list(api.container.adapters.mail.count() - before)] \
        if api.container.adapters.mail.count() > before else []


def _put_me(api, headers, email: str | None) -> dict:
    response = api.client.put("/api/me", headers=headers, json={"displayName": "Bob", "email": email})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_only_the_address_the_token_verifies_is_mailed(api, family):
    verified = api.as_(api.token("patient", "bob", email=BOB))  # the provider vouches for bob@
    unverified = api.as_(api.token("patient", "bob"))  # the same login, no e-mail claim
    assert _put_me(api, verified, BOB)["emailVerified"] is True
    assert api.client.get("/api/me", headers=unverified).json()["emailVerified"] is True
    assert _comment_mails(api, family, verified, 1) == [BOB]
    # Pointing notifications at another address: stored and shown, never mailed.
    me = _put_me(api, verified, STRANGER)
    assert me["email"] == STRANGER and me["emailVerified"] is False
    assert _comment_mails(api, family, verified, 2) == []
    # The same address again from a token without the claim stays verified; a new one does not.
    assert _put_me(api, verified, BOB)["emailVerified"] is True
    assert _put_me(api, unverified, BOB)["emailVerified"] is True
    assert _comment_mails(api, family, verified, 3) == [BOB]
    assert _put_me(api, unverified, STRANGER)["emailVerified"] is False
    assert _comment_mails(api, family, unverified, 4) == []
    assert STRANGER not in [m["to"] for m in api.container.adapters.mail.list(limit=100)]


def test_an_account_stored_before_verification_existed_is_not_mailed(api, family):
    """The seeded account without `emailVerified` (as every account written before this change):
    nothing goes out until the patient's app sends the verified address again."""
    stored = family.documents.read("patients", helpers.PATIENT_ID, "account")
    doc = {key: value for key, value in stored.doc.items() if key != "emailVerified"}
    family.documents.replace("patients", helpers.PATIENT_ID, doc, if_match=stored.etag)
    data, source, comment = helpers.events()[k.COMMENT_CREATED]
    api.container.outbox.emit(k.COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, comment))
    pump_notifications(api.container)
    assert api.container.adapters.mail.list(limit=10) == []
