"""The folders' API bodies."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

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
    label: str | None = Field(None, min_length=1, max_length=100)
    bodySite: BodySiteIn | None = None
    condition: str | None = Field(None, max_length=200)


class Folder(Response):
    id: str
    label: str
    bodySite: BodySite | None = None
    condition: str | None = None
    imageCount: int = 0
    templateImageId: str | None = None
    createdAt: datetime
    updatedAt: datetime
