"""`Idempotency-Key` on every creating POST (every POST operation that answers 201), as ASGI middleware.

    no key, or not a creating route, or no valid token       -> the request as usual
    key malformed                                             -> 400 idempotency-key-invalid
    the caller's key answered before, same fingerprint        -> the first response again (+ Idempotent-Replayed)
    the caller's key answered before, another fingerprint     -> 422 idempotency-key-reused
    the caller's key claimed by a request still running       -> 409 idempotency-key-in-flight (Retry-After)
    otherwise: claim the key, run the request, and before its last byte goes out remember a 2xx
    answer (any other answer releases the key: a refused or failed request created nothing).

A key is the caller's (issuer and subject of the validated token: another caller's equal key is
another key). The fingerprint is a SHA-256 digest of method, path, query, the headers that carry
meaning (content type; a direct upload's takenAt, note, view) and the body, hashed as the body
streams to the handler: a 40 MB upload is never held for it. A replay needs the digest before it
answers, so it reads (and drops) the retried body first. What a record holds, and for how long:
shared_code/idempotency/records.py."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path

from shared_code.auth.principal import Principal
from shared_code.http.problems import MEDIA_TYPE, problem_body
from shared_code.idempotency.records import KeyState
from shared_code.idempotency.repository import IdempotencyRepository, caller_partition

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples
_MEANINGFUL_HEADERS = (b"content-type", b"takenat", b"note", b"view")
_REPLAYED_HEADERS = ("content-type", "location", "etag")


class IdempotencyMiddleware:
    """`identify(token)` gives the caller of a bearer token (raises if it is not valid);
    `records()` the repository. Both are read per request: the container is built lazily."""

    def __init__(self, app, identify: Callable[[str], Principal], records: Callable[[], IdempotencyRepository]):
        self.app = app
        self.identify = identify
        self.records = records
        self._paths: list[re.Pattern] | None = None  # read from the app on first use: routes are added after

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        raw_key = headers.get(HEADER)
        if raw_key is None or not self._creating(scope):
            return await self.app(scope, receive, send)
        key = raw_key.decode("latin-1")
        if not _KEY.match(key):
            return await _problem(send, 400, "idempotency-key-invalid", "Invalid Idempotency-Key",
                                  "Idempotency-Key must be 1 to 255 visible ASCII characters.")
        # The store and the token check may wait on the network: off the event loop, as a handler's.
        caller = await run_in_threadpool(self._caller, headers)
        if caller is None:  # the route answers 401 itself, and nothing is created
            return await self.app(scope, receive, send)
        partition, records = caller_partition(caller), self.records()
        try:
            found = await run_in_threadpool(records.find, partition, key)
        except Exception as exc:  # noqa: BLE001 - without the record a retry could create twice: refuse
            log.warning("idempotency record unreadable: error=%s", type(exc).__name__)
            return await _unavailable(send)
        live = records.usable(found)
        if live is not None and live.state == KeyState.IN_FLIGHT:
            return await _in_flight(send)
        fingerprint = _Fingerprint(scope, headers)
        if live is not None:
            await fingerprint.drain(receive)
            if fingerprint.digest() != live.fingerprint:
                return await _problem(send, 422, "idempotency-key-reused", "Idempotency-Key reused",
                                      "This Idempotency-Key was used with another request; use a new key.")
            return await _replay(send, live.status, live.headers or [], live.body or "")
        try:
            claim = await run_in_threadpool(records.claim, partition, key, found)
        except Exception as exc:  # noqa: BLE001 - as above: nothing has run yet
            log.warning("idempotency key not claimed: error=%s", type(exc).__name__)
            return await _unavailable(send)
        if claim is None:  # another request with this key got there first
            return await _in_flight(send)
        await self._run(scope, fingerprint.hashing(receive), send, records, partition, claim, fingerprint)

    def _creating(self, scope) -> bool:
        if self._paths is None:
            self._paths = creating_paths(scope["app"])
        return any(pattern.match(scope["path"]) for pattern in self._paths)

    def _caller(self, headers: dict[bytes, bytes]) -> Principal | None:
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            return self.identify(token.strip())
        except Exception:  # noqa: BLE001 - invalid, or not checkable now: the route answers it, as without a key
            return None

    async def _run(self, scope, receive, send, records: IdempotencyRepository, partition: str, claim,
                   fingerprint: "_Fingerprint") -> None:
        start: dict[str, Any] = {}
        body = bytearray()
        answered = False  # a 2xx went out (remembered, or at least tried): the claim must stay

        async def capturing_send(message):
            nonlocal answered
            if message["type"] == "http.response.start":
                start.update(message)  # held back until the answer is remembered
                return
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                status = start["status"]
                if 200 <= status < 300:
                    await fingerprint.drain(receive)  # a handler may leave a tail unread
                    await run_in_threadpool(_remember, records, partition, claim, fingerprint.digest(), start,
                                            bytes(body))
                    answered = True
                await send(start)
                await send({"type": "http.response.body", "body": bytes(body)})
                return
            await send(message)

        try:
            await self.app(scope, receive, capturing_send)
        finally:
            if not answered:
                await run_in_threadpool(records.release, partition, claim)


class _Fingerprint:
    def __init__(self, scope, headers: dict[bytes, bytes]):
        self._hash = hashlib.sha256()
        for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""),
                     *(name + b"=" + headers.get(name, b"") for name in _MEANINGFUL_HEADERS)):
            self._hash.update(len(part).to_bytes(8, "big") + part)
        self._done = False
        self._hashing_receive = None

    def hashing(self, receive):
        async def receive_and_hash():
            message = await receive()
            self._take(message)
            return message

        self._hashing_receive = receive_and_hash
        return receive_and_hash

    def _take(self, message) -> None:
        if message["type"] == "http.request":
            self._hash.update(message.get("body", b""))
            self._done = self._done or not message.get("more_body", False)
        else:
            self._done = True

    async def drain(self, receive) -> None:
        """Read (and hash, and drop) whatever of the body is still unread."""
        while not self._done:
            message = await receive()
            if receive is not self._hashing_receive:  # that one hashes as it reads
                self._take(message)

    def digest(self) -> str:
        return self._hash.hexdigest()


def creating_paths(app) -> list[re.Pattern]:
    """The paths of the POST operations that answer 201, as the app's OpenAPI document states them:
    what the contract calls a creating POST (a new one is covered by being declared)."""
    paths = app.openapi().get("paths", {})
    return [compile_path(path)[0] for path, operations in paths.items()
            if "201" in (operations.get("post") or {}).get("responses", {})]


def _remember(records: IdempotencyRepository, partition: str, claim, fingerprint: str, start, body: bytes) -> None:
    kept = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in start.get("headers", [])
            if name.decode("latin-1").lower() in _REPLAYED_HEADERS]
    try:
        records.complete(partition, claim, fingerprint, start["status"], kept, body.decode("utf-8"))
    except Exception as exc:  # noqa: BLE001 - the write happened: answer it. The claim stays (a retry gets
        # 409 until it is abandoned), since releasing it would let a retry create a second resource now.
        log.warning("idempotent response not remembered: status=%s error=%s", start["status"], type(exc).__name__)


async def _replay(send, status: int, headers: list, body: str) -> None:
    raw = body.encode("utf-8")
    out = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
    out += [(b"content-length", str(len(raw)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": raw})


async def _in_flight(send) -> None:
    await _problem(send, 409, "idempotency-key-in-flight", "Request in progress",
                   "A request with this Idempotency-Key is still being processed; retry later.", retry_after=1)


async def _unavailable(send) -> None:
    await _problem(send, 503, "service-unavailable", "Service unavailable",
                   "The request could not be checked against an earlier attempt; retry later.", retry_after=5)


async def _problem(send, status: int, slug: str, title: str, detail: str, *, retry_after: int | None = None) -> None:
    raw = json.dumps(problem_body(status, slug, title, detail)).encode()
    headers = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(raw)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})
