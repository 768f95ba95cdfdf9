"""The referral pathway's services, built in dependency order on the pieces of the other referral
modules (images, the review clock's index, decision support), and what both sides read.

    drafts.py       create, edit the answers, add lesions (the referrer)
    submission.py   submit (completeness, the review clock, decision support queued, the service told)
    outcomes.py     the service's outcome; acknowledge and cancel (the referrer)
    transitions.py  the one state table; writes.py the one write loop
    views.py        the summary and the detail; audit.py who looked

The worklists: `sent` (the referrer's, newest first) and `received` (the service's, soonest
`reviewDueBy` first, with `sla`). Reading a referral's detail is audited (it names the patient)."""
from __future__ import annotations

from typing import Any, Protocol

from shared_code.access import ClinicAccess, ReferralAccess, Side
from shared_code.clock import Clock
from shared_code.referrals.audit import ReferralAudit
from shared_code.referrals.drafts import ReferralDrafts
from shared_code.referrals.outcomes import ReferralOutcomes
from shared_code.referrals.records import Referral, ReferralService, ReferralStatus
from shared_code.referrals.repository import ReferralRepository
from shared_code.referrals.schemas import Referral as ReferralOut
from shared_code.referrals.schemas import ReferralSummary
from shared_code.referrals.submission import ReferralSubmission, service_settings
from shared_code.referrals.views import ShownImage, detail, summary
from shared_code.referrals.writes import ReferralWrites
from shared_code.settings import Settings
from shared_code.sharing.clinics import ClinicService
from shared_code.sharing.repository import ClinicRepository


class Images(Protocol):
    """shared_code/referrals/images.py: ReferralImages."""

    def images(self, referral: Referral) -> list[ShownImage]: ...


class DecisionSupportPort(Protocol):
    """shared_code/referrals/decision_support.py: DecisionSupport."""

    def plan(self, referral: Referral, service: ReferralService) -> Referral: ...

    def enqueue(self, referral: Referral) -> None: ...

    def view(self, referral: Referral, service: ReferralService) -> dict[str, Any] | None: ...

    def has_result(self, referral: Referral) -> bool: ...


class ReferralPathway:
    def __init__(self, records: ReferralRepository, writes: ReferralWrites, clinic_records: ClinicRepository,
                 clinics: ClinicService, images: Images, decision_support: DecisionSupportPort, audit: ReferralAudit,
                 clock: Clock, settings: Settings):
        self._records = records
        self._clinic_records = clinic_records
        self._images = images
        self._decision_support = decision_support
        self._audit = audit
        self._clock = clock
        self.writes = writes
        self.drafts = ReferralDrafts(records, self.writes, clinics, clock, settings)
        self.submission = ReferralSubmission(self.writes, clinic_records, decision_support, clock)
        self.outcomes = ReferralOutcomes(self.writes, decision_support, clock)

    def detail(self, access: ReferralAccess, *, audited: bool = True) -> ReferralOut:
        """Either side's view; `decisionSupport` for the service's members only. `audited`: a read
        the caller asked for (not the answer to a change it just made)."""
        referral = access.referral
        if audited:
            self._audit.record(access, "referral.viewed")
        support = None
        if access.side is Side.SERVICE:
            support = self._decision_support.view(referral, service_settings(self._clinic_records, referral))
        return detail(referral, self._clock.now(), self._images.images(referral), support)

    def shown(self, access: ReferralAccess, referral: Referral) -> ReferralOut:
        """The answer to a change `access`'s caller made: the referral as written, as they see it."""
        return self.detail(ReferralAccess(access.principal, access.clinic, access.member, referral, access.side),
                           audited=False)

    def sent(self, access: ClinicAccess, limit: int, continuation: str | None,
             status: ReferralStatus | None = None) -> tuple[list[ReferralSummary], str | None]:
        """The clinic's referrals, newest first [in `status`]."""
        referrals, continuation = self._records.sent_page(access.clinic_id, status, limit, continuation)
        now = self._clock.now()
        return [summary(r, now) for r in referrals], continuation

    def received(self, access: ClinicAccess, status: ReferralStatus | None, limit: int,
                 continuation: str | None) -> tuple[list[ReferralSummary], str | None]:
        """The service's worklist, soonest reviewDueBy first (never a draft)."""
        referrals, continuation = self._records.received_page(access.clinic_id, status, limit, continuation)
        now = self._clock.now()
        return [summary(r, now) for r in referrals], continuation
