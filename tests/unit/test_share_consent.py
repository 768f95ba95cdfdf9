"""Consent to share (shared_code/sharing/schemas.ConsentIn): only the JSON literal `true` is consent.
A string "true" or the number 1 would be coerced to True by lax parsing; a patient app that sends
them has not recorded a clear yes. tests/sharing/test_shares.py checks the same through HTTP (422)."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from shared_code.sharing.schemas import ShareIn


def _body(accepted) -> str:
    return json.dumps({"clinicCode": "ALPHA-DERM", "purposes": ["clinical_care"], "durationDays": 7,
                       "consent": {"version": "2025-01", "accepted": accepted}})


@pytest.mark.parametrize("accepted", ["true", 1, "1", "yes", 1.0, False, None])
def test_anything_but_json_true_is_not_consent(accepted):
    with pytest.raises(ValidationError) as refused:
        ShareIn.model_validate_json(_body(accepted))
    assert [e["loc"] for e in refused.value.errors()] == [("consent", "accepted")]


def test_json_true_is_consent():
    assert ShareIn.model_validate_json(_body(True)).consent.accepted is True
