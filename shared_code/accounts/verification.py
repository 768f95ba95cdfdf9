"""NHS number verification: a number typed by a patient is unverified until it is traced against the
national demographics service (shared_code/ports/demographics.py) with the account's own facts.

The rule: traced when the service files a patient under exactly this number (not a superseded one),
with the account's date of birth, and with a family name that appears as whole words in the
account's display name (the account has no separate family-name field). Anything else (no date of
birth, no demographics service configured, the service down or slow) leaves the number unverified:
a trace never fails the request that asked for it, it only withholds the `01` status from exports.

A trace belongs to the facts it was made with: when the number, the name or the date of birth
changes the account is traced again, and is unverified unless that trace succeeds."""
from __future__ import annotations

import logging
import re
from datetime import date

from shared_code.ports.demographics import Demographics, DemographicRecord

log = logging.getLogger(__name__)


def matches(found: DemographicRecord, nhs_number: str, display_name: str, date_of_birth: date) -> bool:
    if found.nhs_number != nhs_number or found.birth_date != date_of_birth:
        return False
    name = " ".join(re.split(r"[\s,]+", display_name.casefold()))
    return any(re.search(rf"(?<!\w){re.escape(family.casefold().strip())}(?!\w)", name)
               for family in found.family_names if family.strip())


class NhsNumberTracer:
    def __init__(self, demographics: Demographics | None):
        self._demographics = demographics

    @property
    def configured(self) -> bool:
        return self._demographics is not None

    def traced(self, nhs_number: str, display_name: str, date_of_birth: date | None) -> bool:
        """True only when the service vouches for the number with these facts; never raises."""
        if self._demographics is None or date_of_birth is None:
            return False
        try:
            found = self._demographics.lookup(nhs_number)
        except Exception as exc:  # noqa: BLE001 - a trace never fails the request; the number stays unverified
            # Never the number: it is personal data.
            log.warning("NHS number trace failed: %s", type(exc).__name__, extra={"event": "nhs_number.trace_failed"})
            return False
        traced = found is not None and matches(found, nhs_number, display_name, date_of_birth)
        log.info("NHS number traced" if traced else "NHS number not verified by the trace",
                 extra={"event": "nhs_number.traced" if traced else "nhs_number.not_verified"})
        return traced
