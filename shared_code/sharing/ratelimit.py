"""Clinic-code attempts, limited per identity AND per client address, in the document store.

Used for clinic-code lookups and for the code a share names, so that codes cannot be enumerated.
Both limits count in counter documents shared by every instance (a fixed window: one document per
key and window, `ttl` so Cosmos DB removes it afterwards; every container has TTL on without a
default, infra/modules/cosmos.bicep). An increment is a read then an ETag-guarded replace (or a
create for the window's first attempt): two instances never both spend the last attempt. Spread
over identities, guesses still meet the address's limit; spread over addresses, the identity's.
A fixed window lets a caller spend up to twice a limit across a window's edge; the code space is
large enough that this does not matter, and it keeps each attempt to two document operations.

Settings: CLINIC_CODE_ATTEMPTS per identity and CLINIC_CODE_ADDRESS_ATTEMPTS per client address,
each per CLINIC_CODE_WINDOW_SECONDS. Keys are stored hashed (an address is personal data).

The client address. In process (`make run`) it is the peer of the connection. On Azure Functions
the worker sees no peer (the ASGI scope's `client` is None): the platform's front end puts it in
X-Forwarded-For, so TRUST_X_FORWARDED_FOR is on there (infra/modules/functionapp.bicep) and off by
default, because without a front end anyone can write that header. When trusted, only the entry the
front end itself added is used: the LAST one (the hop nearest the service); entries to its left
are whatever the client sent and could be forged per request. A port is dropped and an IPv6
address counts as its /64 (one subscriber's prefix). No address (e.g. a non-HTTP caller) means
the identity limit alone applies.

The peer and the header reach this module through `observability.request_peer`, set by the HTTP middleware for
the request's duration, so every path that resolves a code (lookups, shares) is covered without
threading the address through each service call."""
from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from shared_code.clock import Clock
from shared_code.errors import RateLimited
from shared_code.observability import request_peer
from shared_code.ports.documents import DocumentStore
from shared_code.ports.errors import Conflict, NotFound, PreconditionFailed
from shared_code.settings import DIRECTORY

_GUARDED_TRIES = 5  # lost ETag races on one counter before the attempt counts as refused


def client_address(peer: str | None, forwarded_for: str | None, trust_forwarded: bool) -> str | None:
    """The address an attempt is counted against, normalised (see the module docstring)."""
    raw = peer
    if trust_forwarded and forwarded_for:
        raw = forwarded_for.split(",")[-1].strip()
    return _normalised(raw) if raw else None


def _normalised(raw: str) -> str:
    host = raw.strip()
    if host.startswith("["):                      # [v6]:port
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:                    # v4:port
        host = host.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host.lower()                       # a name such as "testclient": counted as given
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)


@dataclass(frozen=True)
class Limit:
    attempts: int
    window_seconds: float


class SharedRateLimiter:
    """`take(identity)` spends one attempt of the identity and one of the request's client address."""

    def __init__(self, documents: DocumentStore, clock: Clock, per_identity: Limit, per_address: Limit,
                 trust_forwarded: bool):
        self._documents = documents
        self._clock = clock
        self.per_identity = per_identity
        self.per_address = per_address
        self._trust_forwarded = trust_forwarded

    @property
    def capacity(self) -> int:
        return self.per_identity.attempts

    @capacity.setter
    def capacity(self, attempts: int) -> None:
        """Both limits at once (a test that is not about rate limits lifts them this way)."""
        self.per_identity = Limit(attempts, self.per_identity.window_seconds)
        self.per_address = Limit(attempts, self.per_address.window_seconds)

    def take(self, identity: str) -> None:
        """Raises RateLimited (retry_after: seconds to the window's end) when either limit is spent."""
        self._spend("identity", identity, self.per_identity)
        address = client_address(*request_peer.get(), self._trust_forwarded)
        if address is not None:
            self._spend("address", address, self.per_address)

    def _spend(self, kind: str, key: str, limit: Limit) -> None:
        now = self._clock.now().timestamp()
        window = int(now // limit.window_seconds)
        retry_after = max(1, math.ceil((window + 1) * limit.window_seconds - now))
        digest = hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()[:32]
        partition, doc_id = f"rate-limit:{kind}:{digest}", str(window)
        ttl = max(60, int(limit.window_seconds * 2))
        for _ in range(_GUARDED_TRIES):
            try:
                stored = self._documents.read(DIRECTORY, partition, doc_id)
            except NotFound:
                try:
                    self._documents.create(DIRECTORY, partition,
                                           {"id": doc_id, "type": "rate-limit", "count": 1, "ttl": ttl})
                    return
                except Conflict:
                    continue  # another instance made it first: read and increment theirs
            count = int(stored.doc.get("count", 0))
            if count >= limit.attempts:
                raise RateLimited(retry_after=retry_after)
            try:
                self._documents.replace(DIRECTORY, partition, {**stored.doc, "count": count + 1},
                                        if_match=stored.etag)
                return
            except PreconditionFailed:
                continue
        raise RateLimited(retry_after=1)  # this key is being hammered from many places at once
