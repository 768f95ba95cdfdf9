"""A small in-process cache of unwrapped patient keys.

Why: every image read needs the patient key, and unwrapping it is a vault round trip (latency,
throttling, cost). A gallery page opens many thumbnails of one patient at once, so the cache is
single-flight: concurrent misses for one patient share ONE unwrap, and a patient costs at most one
unwrap per TTL. Failures are handed to everyone waiting on that unwrap but never cached, so the
next request retries (vault throttling is transient). The cache is bounded (LRU) because keys are
secrets: we hold as few as serve the traffic, for at most `ttl_seconds` after they were unwrapped.
`forget` is called on erasure and discards the key, and also the result of an unwrap in flight.

Limits: Python cannot reliably wipe `bytes`, so a forgotten key stays in freed memory until
reused; the TTL bounds how long a *live* reference exists. Waiters wait as long as the unwrap
takes: the KeyWrapper adapter owns the timeout.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from typing import Callable


class PatientKeyCache:
    def __init__(
        self,
        unwrap: Callable[[str], bytes],
        ttl_seconds: float = 300,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        if ttl_seconds <= 0 or max_entries < 1:
            raise ValueError("ttl_seconds and max_entries must be positive")
        self._unwrap = unwrap
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()  # id -> (expires, key)
        self._in_flight: dict[str, Future[bytes]] = {}

    def get(self, patient_id: str) -> bytes:
        """The patient key, unwrapping it (once, whoever asks concurrently) when not cached."""
        with self._lock:
            entry = self._entries.get(patient_id)
            if entry is not None:
                if self._clock() < entry[0]:
                    self._entries.move_to_end(patient_id)
                    return entry[1]
                del self._entries[patient_id]
            flight = self._in_flight.get(patient_id)
            leader = flight is None
            if leader:
                flight = self._in_flight[patient_id] = Future()
        if not leader:
            return flight.result()
        try:
            key = self._unwrap(patient_id)
        except BaseException as exc:
            with self._lock:
                self._end_flight(patient_id, flight)
            flight.set_exception(exc)
            raise
        with self._lock:
            if self._end_flight(patient_id, flight):  # not forgotten meanwhile
                self._entries[patient_id] = (self._clock() + self._ttl, key)
                self._entries.move_to_end(patient_id)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
        flight.set_result(key)
        return key

    def _end_flight(self, patient_id: str, flight: Future[bytes]) -> bool:
        """Under the lock: retire our flight; False if `forget` already retired it."""
        if self._in_flight.get(patient_id) is flight:
            del self._in_flight[patient_id]
            return True
        return False

    def forget(self, patient_id: str) -> None:
        """Drop the patient's key now (erasure). An unwrap in flight still answers its waiters but
        its result is not cached; the next get unwraps again (and fails once the record is gone)."""
        with self._lock:
            self._entries.pop(patient_id, None)
            self._in_flight.pop(patient_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._in_flight.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
