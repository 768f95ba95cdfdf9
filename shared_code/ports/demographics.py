"""The national demographics service: look up a patient by NHS number (in England the Personal
Demographics Service's FHIR API, PDS FHIR: `GET /Patient/{nhsNumber}`).

The port only answers what the service holds; whether that matches the account (the number, a
family name, the date of birth) is the accounts area's rule (shared_code/accounts/verification.py).
No adapter is configured locally: a number is then never traced and stays unverified."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


class DemographicsUnavailable(Exception):
    """The service could not answer now (network, timeout, 5xx, 429, authentication): try later."""


@dataclass(frozen=True)
class DemographicRecord:
    # The number the service files the patient under: for a superseded (merged) number PDS answers
    # with the current one, which is then not the number asked about.
    nhs_number: str
    family_names: tuple[str, ...]
    birth_date: date | None


class Demographics(Protocol):
    def lookup(self, nhs_number: str) -> DemographicRecord | None:
        """The patient filed under `nhs_number`, or None when the service knows no such patient (or
        the number is invalidated). Raises DemographicsUnavailable."""
