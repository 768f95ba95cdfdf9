"""The folders' API bodies."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, StrictInt, field_validator

from shared_code.domain.body_sites import BODY_SITES
from shared_code.api_schemas import Request, Response


class BodySiteIn(Request):
    code: str = Field(description="SNOMED CT body structure code", json_schema_extra={"enum": sorted(BODY_SITES)})
    laterality: Literal["left", "right"] | None = None

    @field_validator("code")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in BODY_SITES:
            raise ValueError("must be one of the supported SNOMED CT body site codes")
        return value


class BodySite(Response):
    system: str = "http://snomed.info/sct"
    code: str
    display: str
    laterality: Literal["left", "right"] | None = None


class FolderIn(Request):
    label: str = Field(min_length=1, max_length=100, examples=["rash on hands"])
    bodySite: BodySiteIn | None = None
    condition: str | None = Field(None, max_length=200, examples=["eczema"])


class FolderPatch(Request):
    """JSON merge patch: only the fields sent change; `null` clears an optional field."""
    label: str = Field(None, min_length=1, max_length=100)  # not nullable: a folder keeps a label
    bodySite: BodySiteIn | None = None
    condition: str | None = Field(None, max_length=200)


class ReminderIn(Request):
    # Strict: "7" or true is a 422, not a reminder every 7 days or every day.
    everyDays: StrictInt = Field(ge=1, le=365, examples=[14], description="Remind me this many days after my latest photo.")


class Reminder(Response):
    everyDays: int
    nextDueAt: datetime = Field(description="The latest photo's takenAt (or upload time), or when the reminder "
                                            "was set, + everyDays. Not sent between 21:00 and 08:00 UK time.")


class Folder(Response):
    id: str
    label: str
    bodySite: BodySite | None = None
    condition: str | None = None
    imageCount: int = 0
    templateImageId: str | None = None
    reminder: Reminder | None = None
    createdAt: datetime
    updatedAt: datetime
