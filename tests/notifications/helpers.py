"""Source documents full of personal and clinical data, and every kind of event with its source
(emit one with `steps.event_writer`, tests/support/steps.py), so tests can prove none of it reaches a
queue message, a mail or a log."""
from __future__ import annotations

from typing import Any

from shared_code.notifications import contract as k
from shared_code.notifications.contract import SourceRef
from shared_code.settings import CLINICS, DIRECTORY, PATIENTS

PATIENT_ID = "pat_aaaaaaaaaaaaaaaaaaaaaaaaaa"
PATIENT_EMAIL = "zebedee.quartermain@example.org"
PATIENT_NAME = "Zebedee Quartermain"
NHS_NUMBER = "9434765919"
NHS_NUMBER_PRINTED = "943 476 5919"
DATE_OF_BIRTH = "1980-02-29"
FOLDER_ID = "fld_aaaaaaaaaaaaaaaaaaaaaaaaaa"
FOLDER_LABEL = "mole on left shoulder"
IMAGE_ID = "img_aaaaaaaaaaaaaaaaaaaaaaaaaa"
IMAGE_NOTE = "itchy and bleeding since the holiday"
COMMENT_ID = "cmt_aaaaaaaaaaaaaaaaaaaaaaaaaa"
COMMENT_TEXT = "Irregular border: suspected melanoma, urgent two-week referral"
GRANT_ID = "grt_aaaaaaaaaaaaaaaaaaaaaaaaaa"
REFERRAL_ID = "rf_aaaaaaaaaaaaaaaaaaaaaaaaaa"
OTHER_CLINIC_ID = "cln_bbbbbbbbbbbbbbbbbbbbbbbbbb"
REFERRAL_DOC = {"type": "referral", "patient": {"name": PATIENT_NAME, "nhsNumber": NHS_NUMBER},
                "clinicalQuestion": COMMENT_TEXT, "lesions": [{"description": IMAGE_NOTE}]}

CLINIC_ID = "cln_aaaaaaaaaaaaaaaaaaaaaaaaaa"
CLINIC_NAME = "Newcastle <Derm> & Skin"
CLINIC_EMAIL = "derm-inbox@nhs.example"
ADMIN_IDS = ("mbr_admin1aaaaaaaaaaaaaaaaaaa", "mbr_admin2aaaaaaaaaaaaaaaaaaa")
ADMIN_EMAILS = ("admin.one@nhs.example", "admin.two@nhs.example")
MEMBER_ID = "mbr_clinicianaaaaaaaaaaaaaaaa"
MEMBER_EMAIL = "ada.lovelace@nhs.example"
MEMBER_NAME = "Dr Ada Lovelace"
# Referrals the review clock's timers tell about: one awaiting review, one whose outcome waits.
AWAITING_REFERRAL_ID = "rf_awaitingaaaaaaaaaaaaaaaaaa"
ANSWERED_REFERRAL_ID = "rf_answeredaaaaaaaaaaaaaaaaaa"
TIMED_REFERRAL_DOC = {**REFERRAL_DOC, "referringClinicId": CLINIC_ID, "createdBy": MEMBER_ID,
                      "submittedAt": "2025-02-03T09:00:00Z", "reviewDueBy": "2025-02-05T23:59:59Z"}

# Nothing of this may ever appear in a queue message, a mail or a log line.
SECRETS = (NHS_NUMBER, NHS_NUMBER_PRINTED, PATIENT_NAME, "Zebedee", "Quartermain", DATE_OF_BIRTH, FOLDER_LABEL,
           IMAGE_NOTE, COMMENT_TEXT, "melanoma", MEMBER_NAME)
ADDRESSES = (PATIENT_EMAIL, CLINIC_EMAIL, MEMBER_EMAIL, *ADMIN_EMAILS)

ALL_PREFERENCES_ON = {"comments": True, "shareExpiring": True, "uploadRejected": True, "reminders": True}


def seed(documents, *, patient: dict[str, Any] | None = None) -> None:
    """A patient with an account and a folder, a clinic with two admins and a clinician."""
    account = {"id": "account", "type": "account", "patientId": PATIENT_ID, "status": "active",
               "displayName": PATIENT_NAME, "nhsNumber": NHS_NUMBER, "dateOfBirth": DATE_OF_BIRTH,
               "email": PATIENT_EMAIL, "emailVerified": True, "notificationPreferences": dict(ALL_PREFERENCES_ON),
               **(patient or {})}
    documents.create(PATIENTS, PATIENT_ID, account)
    documents.create(PATIENTS, PATIENT_ID, {"id": FOLDER_ID, "type": "folder", "label": FOLDER_LABEL,
                                            "condition": "melanoma?"})
    documents.create(CLINICS, CLINIC_ID, {"id": "clinic", "type": "clinic", "clinicId": CLINIC_ID, "name": CLINIC_NAME,
                                          "code": "NEWCASTLE-DERM", "notificationEmail": CLINIC_EMAIL,
                                          "subscriptionEndsAt": "2025-04-01T00:00:00Z"})
    for member_id, email in zip(ADMIN_IDS, ADMIN_EMAILS):
        documents.create(CLINICS, CLINIC_ID, {"id": member_id, "type": "member", "clinicId": CLINIC_ID, "email": email,
                                              "role": "clinic_admin", "name": "Admin " + member_id})
    documents.create(CLINICS, CLINIC_ID, {"id": MEMBER_ID, "type": "member", "clinicId": CLINIC_ID,
                                          "email": MEMBER_EMAIL, "role": "clinician", "name": MEMBER_NAME})


# kind -> (data, source, the source document: each full of things that must not leak)
def events() -> dict[str, tuple[dict[str, str], SourceRef, dict[str, Any]]]:
    return {
        k.SHARE_CREATED: ({"clinicId": CLINIC_ID, "grantId": GRANT_ID}, SourceRef(PATIENTS, PATIENT_ID, GRANT_ID),
                          {"type": "grant", "clinicId": CLINIC_ID, "folderId": FOLDER_ID, "patientName": PATIENT_NAME,
                           "nhsNumber": NHS_NUMBER, "folderLabel": FOLDER_LABEL}),
        k.COMMENT_CREATED: ({"patientId": PATIENT_ID, "folderId": FOLDER_ID, "commentId": COMMENT_ID},
                            SourceRef(PATIENTS, PATIENT_ID, COMMENT_ID),
                            {"type": "comment", "folderId": FOLDER_ID, "text": COMMENT_TEXT, "authorName": MEMBER_NAME}),
        k.GRANT_EXPIRING: ({"patientId": PATIENT_ID, "grantId": GRANT_ID}, SourceRef(PATIENTS, PATIENT_ID, GRANT_ID),
                           {"type": "grant", "clinicId": CLINIC_ID, "folderLabel": FOLDER_LABEL}),
        k.GRANT_EXPIRED: ({"patientId": PATIENT_ID, "grantId": GRANT_ID}, SourceRef(PATIENTS, PATIENT_ID, GRANT_ID),
                          {"type": "grant", "clinicId": CLINIC_ID, "folderLabel": FOLDER_LABEL}),
        k.UPLOAD_REJECTED: ({"patientId": PATIENT_ID, "imageId": IMAGE_ID, "reason": "truncated"},
                            SourceRef(PATIENTS, PATIENT_ID, IMAGE_ID),
                            {"type": "image", "folderId": FOLDER_ID, "note": IMAGE_NOTE, "status": "rejected"}),
        k.MEMBER_ADDED: ({"clinicId": CLINIC_ID, "memberId": MEMBER_ID}, SourceRef(CLINICS, CLINIC_ID, MEMBER_ID),
                         {"type": "member", "email": MEMBER_EMAIL, "role": "clinician", "name": MEMBER_NAME}),
        k.SUBSCRIPTION_ENDING: ({"clinicId": CLINIC_ID, "endsAt": "2025-04-01T00:00:00Z"},
                                SourceRef(CLINICS, CLINIC_ID, "clinic"), {}),
        # The seeded folder (label, condition) is the source: the event is written onto it.
        k.REMINDER_DUE: ({"patientId": PATIENT_ID, "folderId": FOLDER_ID}, SourceRef(PATIENTS, PATIENT_ID, FOLDER_ID),
                         {"type": "folder", "label": FOLDER_LABEL}),
        k.ACCOUNT_INACTIVE: ({"patientId": PATIENT_ID, "eraseAfter": "2025-06-01T00:00:00Z"},
                             SourceRef(PATIENTS, PATIENT_ID, "account"), {}),
        # A referral (its document full of the patient and the clinical question) between the seeded
        # clinic and another: each step tells the clinic on the other side.
        k.REFERRAL_SUBMITTED: ({"clinicId": CLINIC_ID, "referringClinicId": OTHER_CLINIC_ID, "referralId": REFERRAL_ID,
                                "priority": "urgent_suspected_cancer", "reviewDueBy": "2025-03-04T23:59:59Z"},
                               SourceRef(CLINICS, CLINIC_ID, REFERRAL_ID), REFERRAL_DOC),
        k.REFERRAL_OUTCOME: ({"clinicId": CLINIC_ID, "serviceClinicId": OTHER_CLINIC_ID, "referralId": REFERRAL_ID,
                              "priority": "routine"}, SourceRef(CLINICS, OTHER_CLINIC_ID, REFERRAL_ID), REFERRAL_DOC),
        # The review clock's timers: the seeded clinic is the service, and its clinician the referrer.
        k.REFERRAL_DUE_TODAY: ({"clinicId": CLINIC_ID, "day": "2025-03-01"},
                               SourceRef(DIRECTORY, "referral-digest", CLINIC_ID),
                               {"type": "referral-digest", "serviceClinicId": CLINIC_ID, "day": "2025-03-01",
                                "dueToday": 3, "sentAt": "2025-03-01T08:00:00Z"}),
        k.REFERRAL_OVERDUE: ({"clinicId": CLINIC_ID, "referralId": AWAITING_REFERRAL_ID},
                             SourceRef(CLINICS, CLINIC_ID, AWAITING_REFERRAL_ID),
                             {**TIMED_REFERRAL_DOC, "status": "awaiting_review"}),
        k.REFERRAL_NO_OUTCOME: ({"clinicId": CLINIC_ID, "referralId": AWAITING_REFERRAL_ID},
                                SourceRef(CLINICS, CLINIC_ID, AWAITING_REFERRAL_ID),
                                {**TIMED_REFERRAL_DOC, "status": "awaiting_review"}),
        k.REFERRAL_UNACKNOWLEDGED: ({"clinicId": CLINIC_ID, "referralId": ANSWERED_REFERRAL_ID},
                                    SourceRef(CLINICS, CLINIC_ID, ANSWERED_REFERRAL_ID),
                                    {**TIMED_REFERRAL_DOC, "status": "outcome_sent",
                                     "outcomeSentAt": "2025-02-04T15:00:00Z"}),
    }
