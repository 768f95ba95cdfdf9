"""A referral's photographs (records.ReferralImage: `clinics` / serviceClinicId / image id, `type:
referral-image`, next to their referral): the only code that reads or writes them."""
from __future__ import annotations

from shared_code import paging
from shared_code.ports.documents import DocumentStore, Query
from shared_code.ports.errors import NotFound
from shared_code.records import read_record
from shared_code.referrals.records import ReferralImage
from shared_code.settings import CLINICS


class ReferralImageRepository:
    def __init__(self, documents: DocumentStore):
        self._documents = documents

    def get(self, service_clinic_id: str, image_id: str) -> ReferralImage | None:
        return read_record(self._documents, CLINICS, service_clinic_id, image_id, ReferralImage)

    def create(self, service_clinic_id: str, image: ReferralImage) -> ReferralImage:
        return image.but(etag=self._documents.create(CLINICS, service_clinic_id, image.to_doc()).etag)

    def upsert(self, service_clinic_id: str, image: ReferralImage) -> ReferralImage:
        return image.but(etag=self._documents.upsert(CLINICS, service_clinic_id, image.to_doc()).etag)

    def delete(self, service_clinic_id: str, image_id: str) -> None:
        try:
            self._documents.delete(CLINICS, service_clinic_id, image_id)
        except NotFound:
            pass

    def of_referral(self, service_clinic_id: str, referral_id: str) -> list[ReferralImage]:
        """Every image record of one referral (one single-partition query), oldest upload first."""
        query = Query(service_clinic_id, {"type": "referral-image", "referralId": referral_id}, order_by="uploadedAt",
                      limit=200)
        return [ReferralImage.from_stored(s) for s in paging.every(self._documents, CLINICS, query)]
