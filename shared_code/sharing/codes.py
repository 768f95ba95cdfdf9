"""Clinic codes (`ORG-CLINIC`, e.g. `NEWCASTLE-DERM`): how they are compared and how new ones are made.

Codes come from a printed letter, so a patient may type them in any case and with spaces: both are
ignored. A rotated code keeps the organisation's prefix (recognisable on the phone) and gains a
random part, so the old code cannot be guessed from the new one or vice versa."""
from __future__ import annotations

import re
import secrets

_CODE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*$")
MIN_LENGTH, MAX_LENGTH = 3, 40
# No 0/O, 1/I/L: read out over the phone or copied from a letter without ambiguity.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def normalise(code: str) -> str:
    return "".join(code.split()).upper()


def is_valid(normalised: str) -> bool:
    return MIN_LENGTH <= len(normalised) <= MAX_LENGTH and bool(_CODE.match(normalised))


def rotated(old: str) -> str:
    prefix = old.split("-", 1)[0][:24]
    return f"{prefix}-{''.join(secrets.choice(_ALPHABET) for _ in range(8))}"
