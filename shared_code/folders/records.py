"""The folder record: one skin problem of one patient (`patients` / patient id / folder id `f_...`,
`type: folder`), with the count of its ready images and its overlay template."""
from __future__ import annotations

from typing import Callable, Literal

from shared_code.domain.body_sites import BODY_SITES
from shared_code.records import Record

SNOMED = "http://snomed.info/sct"


class BodySiteRecord(Record):
    system: str = SNOMED
    code: str
    display: str
    laterality: Literal["left", "right"] | None = None

    @classmethod
    def of(cls, code: str, laterality: str | None) -> "BodySiteRecord":
        """The stored coding of a known SNOMED CT body structure code (the display is ours)."""
        return cls(code=code, display=BODY_SITES[code], laterality=laterality)


class FolderRecord(Record):
    id: str
    type: Literal["folder"] = "folder"
    label: str
    body_site: BodySiteRecord | None = None
    condition: str | None = None
    image_count: int = 0
    template_image_id: str | None = None
    template_chosen: bool = False  # the patient picked the template (or picked none)
    created_at: str
    updated_at: str

    def public(self) -> dict:
        """The API's folder (API.md, Folder)."""
        return {"id": self.id, "label": self.label,
                "bodySite": self.body_site.to_doc() if self.body_site else None, "condition": self.condition,
                "imageCount": self.image_count, "templateImageId": self.template_image_id,
                "createdAt": self.created_at, "updatedAt": self.updated_at}

    # --- kept in step with its images ---
    def with_image_ready(self, image_id: str) -> "FolderRecord":
        # By default the template is the first image that became ready, unless the patient chose.
        template = self.template_image_id
        if not self.template_chosen and not template:
            template = image_id
        return self.but(image_count=self.image_count + 1, template_image_id=template)

    def with_image_removed(self, image_id: str, first_ready: Callable[[], str | None]) -> "FolderRecord":
        """`first_ready` names the folder's first ready image; asked only if the template goes."""
        count = max(0, self.image_count - 1)
        if self.template_image_id != image_id:
            return self.but(image_count=count)
        return self.but(image_count=count, template_image_id=first_ready(), template_chosen=False)

    def with_template(self, image_id: str | None) -> "FolderRecord":
        return self.but(template_image_id=image_id, template_chosen=True)
