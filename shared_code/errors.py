"""The domain's exceptions: what went wrong, in the domain's words.

Services and repositories raise these; nothing below the HTTP edge knows a status code. The one
table that turns each into an RFC 9457 problem (status, type, title, headers) is
`shared_code/http/problems.py`. Every class here has a row there (a test checks).

`detail` is for people and never carries another person's data; `extensions` become extra members
of the problem document (e.g. `reason`, `errors`)."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    default_detail: str | None = None

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None, **extensions: Any):
        self.detail = detail if detail is not None else self.default_detail
        self.retry_after = retry_after
        self.extensions = extensions
        super().__init__(self.detail or type(self).__name__)


# --- not found: the caller may not learn that the thing exists ---
class NotFoundError(DomainError):
    pass


class AccountNotFound(NotFoundError):
    default_detail = "Create the account first with PUT /api/me."


class FolderNotFound(NotFoundError):
    def __init__(self, folder_id: str):
        super().__init__(f"No folder {folder_id} in this account.")


class ImageNotFound(NotFoundError):
    """`scope` names where the caller looked: their account, a share they were given, a referral."""

    def __init__(self, image_id: str, scope: str = "account"):
        where = {"share": "this share", "referral": "this referral"}.get(scope, "this account")
        super().__init__(f"No image {image_id} in {where}.")


class ShareNotFound(NotFoundError):
    def __init__(self, grant_id: str):
        super().__init__(f"No share {grant_id} in this account.")


class GrantNotFound(NotFoundError):
    def __init__(self, grant_id: str):
        super().__init__(f"No share {grant_id} for this clinic.")


class ClinicNotFound(NotFoundError):
    def __init__(self, clinic_id: str, *, as_member: bool = True):
        super().__init__(f"No clinic {clinic_id} of which you are a member." if as_member else f"No clinic {clinic_id}.")


class ReferralNotFound(NotFoundError):
    def __init__(self, referral_id: str):
        super().__init__(f"No referral {referral_id} is visible to this clinic.")


class LesionNotFound(NotFoundError):
    def __init__(self, lesion_id: str):
        super().__init__(f"No lesion {lesion_id} in this referral.")


class ClinicCodeNotFound(NotFoundError):
    # One answer for unknown, rotated-away and unsubscribed codes: a lookup reveals nothing else.
    default_detail = "No subscribed clinic has this code. Check the code in your letter."


class MemberNotFound(NotFoundError):
    def __init__(self, member_id: str):
        super().__init__(f"No member {member_id} in this clinic.")


# --- refused: the caller knows the thing, and may not do this with it ---
class Forbidden(DomainError):
    pass


class RoleRequired(Forbidden):
    def __init__(self, role: str, detail: str | None = None):
        super().__init__(detail or f"This needs the '{role}' role.")


class ClinicAdminRequired(Forbidden):
    default_detail = "Only a clinic_admin of this clinic may do this."


class SubscriptionInactive(Forbidden):
    default_detail = "This clinic's subscription has ended; shared folders are not available."


class GrantRevoked(Forbidden):
    default_detail = "The patient has revoked this share."


class GrantExpired(Forbidden):
    default_detail = "This share has expired."


class ReferralSideRequired(Forbidden):
    """The caller's clinic is the other side of this referral: the step is the referrer's, or the service's."""
    def __init__(self, side: str):
        super().__init__(f"Only members of the {side} clinic may do this.", side=side)


class PurposeNotGranted(Forbidden):
    def __init__(self, operation: str):
        super().__init__(f"The patient's consent does not cover '{operation}' for this share.")


# --- conflicts with the current state ---
class StateConflict(DomainError):
    pass


class AccountErasing(StateConflict):
    default_detail = "This account is being erased; try again when erasure has finished."


class ImageNotReady(StateConflict):
    pass


class ConcurrentUpdate(StateConflict):
    """Someone else kept writing the same record; the caller may simply try again."""


class EditConflict(StateConflict):
    """The record changed between our read and our write (optimistic concurrency)."""


class ClinicCodeTaken(StateConflict):
    default_detail = "Another clinic already uses this code."


class MemberExists(StateConflict):
    pass


class LastClinicAdmin(StateConflict):
    default_detail = "A clinic keeps at least one clinic_admin: add another before removing this one."


class UploadAlreadyUsed(StateConflict):
    default_detail = "This upload has already been received."


class ReferralStateConflict(StateConflict):
    """The step is not possible in the referral's current state, named in `currentStatus` (a problem's
    own `status` member is the HTTP status)."""
    def __init__(self, status: str, detail: str | None = None):
        super().__init__(detail or f"Not possible while the referral is {status}.", currentStatus=status)


class StaleVersion(DomainError):
    """The caller's If-Match names a version that is no longer current."""


# --- the request itself is wrong ---
class InvalidContinuation(DomainError):
    default_detail = "The continuation token is not one this API issued."


class InvalidField(DomainError):
    """One or more fields break a rule the schema alone cannot state. `errors`: [(field, message)]."""

    def __init__(self, *errors: tuple[str, str]):
        fields = [{"field": field, "message": message} for field, message in errors]
        super().__init__("; ".join(f"{f['field']}: {f['message']}" for f in fields), errors=fields)


class UploadRejected(DomainError):
    """An upload that is not an image we keep; `reason` is the stable code the app switches on."""

    REASONS = {
        "empty": "The upload was empty.",
        "too_large": "The image is larger than the upload limit.",
        "unsupported_type": "Only JPEG, PNG and HEIC photographs are accepted.",
        "corrupt": "The image could not be read.",
        "truncated": "The image is incomplete; please upload it again.",
        "too_many_pixels": "The image has too many pixels.",
        "not_received": "The upload never arrived; please try again.",
    }

    def __init__(self, reason: str, message: str | None = None):
        self.reason = reason
        super().__init__(self.REASONS.get(reason, message), reason=reason)


class ReferralIncomplete(DomainError):
    """Submission refused: `missing` lists what each lesion lacks (or that there is no lesion)."""
    def __init__(self, missing: list[dict]):
        super().__init__("The referral cannot be submitted until every lesion has every required view.",
                         missing=missing)


class UploadUrlInvalid(DomainError):
    default_detail = "This upload URL is expired or was altered; start a new upload."


# --- slow down, or try again later ---
class RateLimited(DomainError):
    default_detail = "Too many clinic-code attempts; wait before trying again."


class KeyServiceUnavailable(DomainError):
    default_detail = "Try again shortly."

    def __init__(self, detail: str | None = None):
        super().__init__(detail, retry_after=5)


class Busy(DomainError):
    """A transient contention the caller should retry after `retry_after` seconds."""


class UploadsBusy(Busy):
    """This instance is processing as many uploads as it may (MAX_CONCURRENT_UPLOADS) and none
    finished within UPLOAD_WAIT_SECONDS: the upload was neither read nor stored."""

    default_detail = "Too many uploads are being processed just now; nothing was stored. Send it again shortly."

    def __init__(self) -> None:
        super().__init__(retry_after=5)


class StorageFull(DomainError):
    """The service's own storage (`storage` names which) has no space left: nothing was changed."""

    default_detail = "The service's storage is full; nothing was changed. Try again later."

    def __init__(self, storage: str):
        super().__init__(retry_after=300, storage=storage)


class StorageUnavailable(DomainError):
    """The service's own storage (`storage` names which) refuses writes (read-only for a moment)."""

    default_detail = "The service's storage cannot be written just now; nothing was changed. Try again shortly."

    def __init__(self, storage: str):
        super().__init__(retry_after=30, storage=storage)


# --- the service's own fault, told plainly ---
class ImageIntegrityError(DomainError):
    default_detail = "The stored image does not match its record and will not be shown. It has been reported."
