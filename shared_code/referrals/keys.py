"""The referral key: one random key per referral, wrapped by the KEK like a patient key and kept on
the referral (`Referral.referral_key`); every image of the referral has its DEK wrapped by it, so
dropping it from the referral shreds every image at once (shared_code/referrals/images.py).

Created lazily, at the first image, by an ETag-guarded write (two first uploads at once agree on
one key: the loser of the write re-reads and uses the winner's). Cached like patient keys
(images/keys.OwnerKeyring), by `<serviceClinicId>/<referralId>`, where the referral is kept; the
unwrap reads the referral by a point read, so a shredded key is never unwrapped again."""
from __future__ import annotations

from typing import Any

from shared_code.errors import DomainError, ImageNotFound
from shared_code.images.keys import OwnerKeyring
from shared_code.ports.keys import KeyWrapper
from shared_code.referrals.records import Referral
from shared_code.referrals.repository import ReferralRepository
from shared_code.referrals.writes import ReferralWrites


def key_id(referral: Referral) -> str:
    return f"{referral.service_clinic_id}/{referral.id}"


class ReferralKeys(OwnerKeyring):
    def __init__(self, records: ReferralRepository, writes: ReferralWrites, keys: KeyWrapper, cache_seconds: float):
        self._records = records
        self._writes = writes
        super().__init__(keys, cache_seconds)

    def ensure(self, referral: Referral) -> Referral:
        """The referral with a key: as it is if it has one, else with a new one written (or the one
        a concurrent first upload wrote)."""
        if referral.referral_key:
            return referral
        wrapped = self.create()
        return self._writes.update(referral, lambda current: current if current.referral_key
                                   else current.but(referral_key=wrapped))

    def of(self, referral: Referral) -> "BoundReferralKey":
        """The referral's key as images/objects.ImageObjects asks for it (by the referral id)."""
        return BoundReferralKey(self, referral)

    def _wrapped(self, key_id: str) -> dict[str, Any] | None:
        service_clinic_id, referral_id = key_id.split("/", 1)
        referral = self._records.get(service_clinic_id, referral_id)
        return referral.referral_key if referral is not None else None

    def _destroyed(self) -> DomainError:
        return ImageNotFound("", scope="referral")  # shredded (images.py names the image asked for)


class BoundReferralKey:
    def __init__(self, keys: ReferralKeys, referral: Referral):
        self._keys = keys
        self._referral = referral

    def get(self, owner_id: str) -> bytes:
        if owner_id != self._referral.id:
            raise ValueError("a referral's key serves only that referral's images")
        return self._keys.get(key_id(self._referral))
