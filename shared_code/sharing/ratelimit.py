"""A token bucket per caller, in process.

Used for clinic-code lookups and for the code a share names, so that codes cannot be enumerated.
In-process is a deliberate, documented simplification: each worker instance keeps its own buckets,
so the limit holds per instance (an attacker spread over instances gets a multiple of it). A hard
global limit would need shared state (API Management `rate-limit-by-key`, or a counter document);
the per-instance bucket already makes enumeration of a large code space impractical.

The size and refill time are Settings (CLINIC_CODE_ATTEMPTS per CLINIC_CODE_WINDOW_SECONDS)."""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from typing import Callable

from shared_code.errors import RateLimited


class TokenBucketLimiter:
    def __init__(self, capacity: int, per_seconds: float, max_keys: int = 10_000,
                 now: Callable[[], float] = time.monotonic):
        self.capacity = capacity          # burst
        self.per_seconds = per_seconds    # time to refill the whole bucket
        self._max_keys = max_keys         # bounded memory: least recently used callers are forgotten
        self._now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> None:
        """Spend one token of `key`'s bucket, or raise RateLimited with retry_after (whole seconds)."""
        rate = self.capacity / self.per_seconds
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.pop(key, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - at) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                retry = max(1, math.ceil((1.0 - tokens) / rate))
                raise RateLimited(retry_after=retry)
            self._buckets[key] = (tokens - 1.0, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
