"""Logs are structured, carry the request id, and never hold a token, an NHS number or clinical text."""
import io
import json
import logging

from shared_code.observability import JsonFormatter


def test_tokens_nhs_numbers_and_notes_never_reach_the_log(api):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        token = api.token("patient", "alice")
        headers = api.as_(token)
        api.client.put("/api/me", headers=headers, json={"displayName": "Alice", "nhsNumber": "9434765919"})
        api.client.put("/api/me", headers=headers, json={"displayName": "Alice", "nhsNumber": "9434765918"})
        folder = api.client.post("/api/folders", headers=headers, json={"label": "x", "condition": "psoriasis flare"})
        api.client.get("/api/folders?note=itchy+rash+behind+knee", headers=headers)
        api.client.get("/api/me", headers={"Authorization": "Bearer " + token[:-4] + "AAAA"})
        # Even if code logged them by mistake, the record factory scrubs them.
        logging.getLogger("careless").warning("user %s token %s", "9434765919", token)
        logging.getLogger("careless").error("boom", exc_info=ValueError(f"nhs 943 476 5919 in {token}"))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = stream.getvalue()
    assert folder.status_code == 201
    lines = [json.loads(line) for line in text.splitlines()]
    assert any(line.get("route") == "/api/folders" and line.get("request_id") for line in lines)
    for secret in (token, token[:40], token.split(".")[1], "9434765919", "943 476 5919", "9434765918",
                   "psoriasis", "itchy", "behind+knee"):
        assert secret not in text, secret
