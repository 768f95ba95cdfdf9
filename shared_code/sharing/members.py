"""Clinic memberships: clinic_admins add and remove members; platform_admin adds a clinic's first
admin when onboarding it.

A token never makes anyone a member: a membership is a `Member` record kept here, matched on the
token's verified e-mail or its object id, by point reads only (repository.MemberRepository)."""
from __future__ import annotations

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.errors import LastClinicAdmin, MemberExists, MemberNotFound
from shared_code.notifications.contract import MEMBER_ADDED, Outbox, SourceRef
from shared_code.ports.errors import Conflict, NotFound
from shared_code.settings import CLINICS
from shared_code.sharing.audit import AuditLog, actor_of, clinic_partition
from shared_code.sharing.events import emit
from shared_code.sharing.records import ClinicRef, Member, MemberRole, member_id
from shared_code.sharing.repository import MemberRepository
from shared_code.sharing.schemas import MemberIn


class MemberService:
    def __init__(self, members: MemberRepository, audit: AuditLog, clock: Clock, outbox: Outbox):
        self._members = members
        self._audit = audit
        self._clock = clock
        self._outbox = outbox

    def add(self, actor: Principal, actor_role: str, clinic_id: str, body: MemberIn) -> Member:
        if body.objectId and self._members.object_id_taken(clinic_id, body.objectId):
            raise MemberExists("That object id already belongs to a member.")
        member = Member(id=member_id(clinic_id, body.email), clinic_id=clinic_id, email=body.email,
                        role=MemberRole(body.role), object_id=body.objectId, created_at=iso(self._clock.now()),
                        added_by=actor.subject)
        try:
            emit(self._outbox, MEMBER_ADDED, {"clinicId": clinic_id, "memberId": member.id},
                 SourceRef(CLINICS, clinic_id, member.id), lambda event_id: self._members.create(member, event_id))
        except Conflict:
            raise MemberExists("That e-mail address is already a member.") from None
        if member.object_id:
            self._members.index_object_id(member)
        self._audit.record(clinic_partition(clinic_id), "member.added", actor_of(actor, actor_role),
                           clinic=ClinicRef(id=clinic_id), member_id=member.id, role=member.role)
        return member

    def list(self, clinic_id: str, limit: int, continuation: str | None) -> tuple[list[Member], str | None]:
        return self._members.page(clinic_id, limit, continuation)

    def remove(self, actor: Principal, clinic_id: str, mid: str) -> None:
        member = self._members.get(clinic_id, mid)
        if member is None:
            raise MemberNotFound(mid)
        if member.is_admin and len(self._members.admins(clinic_id, limit=2)) < 2:
            raise LastClinicAdmin()
        # The member record first: every access check reads it, so access ends with this delete.
        try:
            self._members.delete(member)
        except NotFound:
            raise MemberNotFound(mid) from None
        self._audit.record(clinic_partition(clinic_id), "member.removed", actor_of(actor, "clinician"),
                           clinic=ClinicRef(id=clinic_id), member_id=mid)
