"""PatientKeyCache: single-flight, TTL, failures not cached, LRU bound, forget."""
from __future__ import annotations

import threading
import time

import pytest

from shared_code.crypto import PatientKeyCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingUnwrap:
    """Stands in for `lambda pid: unwrap_patient_key(kek, record_of(pid))`."""

    def __init__(self, delay: float = 0.0, fail_times: int = 0):
        self.calls: list[str] = []
        self.delay = delay
        self.fail_times = fail_times
        self._lock = threading.Lock()

    def __call__(self, patient_id: str) -> bytes:
        with self._lock:
            self.calls.append(patient_id)
            fail = self.fail_times > 0
            self.fail_times -= 1
        time.sleep(self.delay)
        if fail:
            raise RuntimeError(f"vault throttled for {patient_id}")
        return (patient_id.encode() * 32)[:32]


def _hammer(cache: PatientKeyCache, patient_id: str, threads: int = 20) -> list[object]:
    barrier = threading.Barrier(threads)
    results: list[object] = [None] * threads

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results[i] = cache.get(patient_id)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            results[i] = exc

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in pool)
    return results


def test_twenty_concurrent_misses_make_exactly_one_unwrap():
    unwrap = CountingUnwrap(delay=0.3)
    cache = PatientKeyCache(unwrap)
    results = _hammer(cache, "patient-1")
    assert unwrap.calls == ["patient-1"]
    assert all(r == (b"patient-1" * 4)[:32] for r in results)


def test_one_unwrap_per_ttl():
    clock, unwrap = FakeClock(), CountingUnwrap()
    cache = PatientKeyCache(unwrap, ttl_seconds=300, clock=clock)
    cache.get("p")
    clock.now += 299.9
    cache.get("p")
    assert len(unwrap.calls) == 1
    clock.now += 0.1
    cache.get("p")
    assert len(unwrap.calls) == 2
    clock.now += 299
    cache.get("p")
    assert len(unwrap.calls) == 2


def test_failure_reaches_every_waiter_and_is_not_cached():
    unwrap = CountingUnwrap(delay=0.5, fail_times=1)
    cache = PatientKeyCache(unwrap)
    results = _hammer(cache, "patient-1")
    assert len(unwrap.calls) == 1
    assert all(isinstance(r, RuntimeError) for r in results)
    assert cache.get("patient-1") == (b"patient-1" * 4)[:32]
    assert len(unwrap.calls) == 2


def test_different_patients_unwrap_in_parallel():
    both_inside = threading.Barrier(2, timeout=5)

    def unwrap(patient_id: str) -> bytes:
        both_inside.wait()  # deadlocks (BrokenBarrierError) if unwraps were serialised
        return bytes(32)

    cache = PatientKeyCache(unwrap)
    errors: list[BaseException] = []

    def get(pid: str) -> None:
        try:
            cache.get(pid)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=get, args=(pid,)) for pid in ("a", "b")]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=10)
    assert not errors


def test_least_recently_used_is_evicted():
    unwrap = CountingUnwrap()
    cache = PatientKeyCache(unwrap, max_entries=2)
    cache.get("a")
    cache.get("b")
    cache.get("a")  # a is now the most recently used
    cache.get("c")  # evicts b
    assert len(cache) == 2
    cache.get("a")
    assert unwrap.calls == ["a", "b", "c"]
    cache.get("b")
    assert unwrap.calls == ["a", "b", "c", "b"]


def test_forget_drops_the_key():
    unwrap = CountingUnwrap()
    cache = PatientKeyCache(unwrap)
    cache.get("p")
    cache.forget("p")
    cache.forget("never-seen")
    cache.get("p")
    assert unwrap.calls == ["p", "p"]


def test_forget_during_an_unwrap_keeps_its_result_out_of_the_cache():
    started, release = threading.Event(), threading.Event()

    def unwrap(patient_id: str) -> bytes:
        started.set()
        release.wait(5)
        return bytes(32)

    cache = PatientKeyCache(unwrap)
    t = threading.Thread(target=cache.get, args=("p",))
    t.start()
    assert started.wait(5)
    cache.forget("p")
    release.set()
    t.join(5)
    assert len(cache) == 0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        PatientKeyCache(lambda p: bytes(32), ttl_seconds=0)
    with pytest.raises(ValueError):
        PatientKeyCache(lambda p: bytes(32), max_entries=0)
