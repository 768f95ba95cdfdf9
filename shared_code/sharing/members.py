"""Clinic memberships: clinic_admins add and remove members; platform_admin adds a clinic's first
admin when onboarding it.

A token never makes anyone a member: a membership is a `Member` record kept here, found by point
reads only (repository.MemberRepository). E-mail is a mutable claim, so it finds a member only until
the member is bound to the token's object id: on first use (`member_for`), by the verified e-mail,
the object id is stored, and from then on only that object id is the member.

The last-admin rule ("a clinic keeps at least one clinic_admin") is decided on the clinic document's
`admin_ids`, changed by an ETag-guarded write before the member is deleted: of two admins removing
themselves at once, the second write fails its precondition, re-reads, and is refused."""
from __future__ import annotations

from shared_code.auth.principal import Principal
from shared_code.clock import Clock, iso
from shared_code.errors import Busy, ClinicNotFound, LastClinicAdmin, MemberExists, MemberNotFound
from shared_code.notifications.contract import MEMBER_ADDED, Outbox, SourceRef
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import CLINICS
from shared_code.sharing.audit import AuditLog, actor_of, clinic_partition
from shared_code.sharing.events import emit
from shared_code.sharing.records import ClinicRef, Member, MemberRole, member_id
from shared_code.sharing.repository import ClinicRepository, MemberRepository
from shared_code.sharing.schemas import MemberIn


_ADMIN_SET_ATTEMPTS = 5  # fresh reads of the clinic when its document changed meanwhile, before Busy


def member_for(members: MemberRepository, clinic_id: str, email: str | None, object_id: str | None) -> Member | None:
    """The caller's membership of `clinic_id` (point reads): the member bound to the token's object
    id; else the member of the verified e-mail if it is not bound yet (binding it now, when the
    token has an object id); a member bound to another object id is not the caller's, whatever the
    e-mail claim says. The e-mail's member is read first: in the usual case (bound to this object
    id) that one point read decides; the object-id index costs two."""
    member = members.by_email(clinic_id, email) if email else None
    if member is not None:
        if member.object_id is None:
            return members.bind_object_id(member, object_id) if object_id else member
        if member.object_id == object_id:
            return member
    return members.by_object_id(clinic_id, object_id) if object_id else None


class MemberService:
    def __init__(self, members: MemberRepository, audit: AuditLog, clock: Clock, outbox: Outbox,
                 clinics: ClinicRepository):
        self._clinics = clinics
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
        source = SourceRef(CLINICS, clinic_id, member.id)

        def create() -> None:
            try:
                emit(self._outbox, MEMBER_ADDED, {"clinicId": clinic_id, "memberId": member.id}, source,
                     lambda event_id: self._members.create(member, event_id))
            except Conflict:
                raise MemberExists("That e-mail address is already a member.") from None

        # The member and its audit entry: one step (AuditLog.with_entry). Nothing to undo: a refused
        # create wrote nothing, and the document of that id may be an existing member's.
        self._audit.with_entry(create, clinic_partition(clinic_id), "member.added", actor_of(actor, actor_role),
                               written=source, clinic=ClinicRef(id=clinic_id), member_id=member.id, role=member.role)
        if member.object_id:
            self._members.index_object_id(member)
        if member.is_admin:
            # After the member exists: an admin not yet counted can only make removals stricter.
            self._change_admins(clinic_id, lambda ids: ids if member.id in ids else [*ids, member.id])
        return member

    def list(self, clinic_id: str, limit: int, continuation: str | None) -> tuple[list[Member], str | None]:
        return self._members.page(clinic_id, limit, continuation)

    def remove(self, actor: Principal, clinic_id: str, mid: str) -> None:
        member = self._members.get(clinic_id, mid)
        if member is None:
            raise MemberNotFound(mid)
        if member.is_admin:
            # Uncounted first, deleted second: a failure in between leaves an admin uncounted (removals
            # get stricter), never a count that lets the last admin go.
            self._change_admins(clinic_id, lambda ids: [i for i in ids if i != mid], keep_one=True)
        # Every access check reads the member record, so access ends with this delete; the delete and
        # its audit entry are one step (AuditLog.with_entry), proven by the record being gone.
        try:
            self._audit.with_entry(lambda: self._members.delete(member), clinic_partition(clinic_id), "member.removed",
                                   actor_of(actor, "clinician"), written=SourceRef(CLINICS, clinic_id, mid),
                                   written_absent=True, clinic=ClinicRef(id=clinic_id), member_id=mid)
        except NotFound:
            raise MemberNotFound(mid) from None

    def _change_admins(self, clinic_id: str, change, *, keep_one: bool = False) -> None:
        """Applies `change` to the clinic's admin ids with an ETag-guarded write (LastClinicAdmin
        when `keep_one` and none would remain)."""
        for _ in range(_ADMIN_SET_ATTEMPTS):
            clinic = self._clinics.get(clinic_id)
            if clinic is None:
                raise ClinicNotFound(clinic_id)
            ids = clinic.admin_ids
            if ids is None:  # onboarded before the set was kept: count the admins once
                ids = [m.id for m in self._members.admins(clinic_id, limit=100)]
            changed = change(ids)
            if keep_one and not changed:
                raise LastClinicAdmin()
            if changed == clinic.admin_ids:
                return
            try:
                self._clinics.replace(clinic.but(admin_ids=changed))
                return
            except PreconditionFailed:
                continue
        raise Busy("The clinic is busy; try again.", retry_after=1)
