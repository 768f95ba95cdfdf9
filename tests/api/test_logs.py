"""Logs are structured, carry the request id, and never hold a token, an NHS number or clinical text."""
import base64
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


class _Records(logging.Handler):
    """Every attribute of every record, as a handler such as OpenTelemetry's would export them."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.text = []

    def emit(self, record):
        self.text.append(json.dumps(vars(record), default=str))


def _capturing():
    handler, root = _Records(), logging.getLogger()
    root.addHandler(handler)
    return handler, root, root.level


def test_every_field_of_a_record_is_redacted_not_just_the_message(api):
    jwt = api.token("patient", "alice")
    handler, root, old_level = _capturing()
    root.setLevel(logging.DEBUG)
    try:
        logging.getLogger("careless").warning("%s", "fine", extra={
            "route": f"/api/x?code={jwt}", "nhs": 9434765919, "nested": {"who": ["943 476 5919", jwt]}})
        logging.getLogger("careless").warning("stack", stack_info=True, extra={"header": "Bearer abc.def"})
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    text = "\n".join(handler.text)
    assert '"fine"' in text or "fine" in text
    for secret in (jwt, jwt.split(".")[1], "9434765919", "943 476 5919", "abc.def"):
        assert secret not in text, secret


def test_a_local_upload_url_refused_before_routing_does_not_log_its_token(api):
    # The shape the local signer issues: base64url(JSON claims) "." base64url(HMAC).
    token = (base64.urlsafe_b64encode(b'{"b": "incoming/p1/f1/i1", "e": 4102444800}').decode().rstrip("=")
             + "." + base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("="))
    handler, root, old_level = _capturing()
    root.setLevel(logging.DEBUG)
    try:
        too_large = api.client.put(f"/api/local-uploads/{token}", content=b"x",
                                   headers={"content-length": str(10**12)})
        unrouted = api.client.get(f"/api/local-uploads/{token}/extra")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert too_large.status_code == 413
    assert unrouted.status_code in (404, 405)
    text = "\n".join(handler.text)
    assert "/api/local-uploads" in text  # the request is still logged
    for part in (token, token.split(".")[0], token.split(".")[1]):
        assert part not in text, part
