"""The service's metrics (`telederm.*`), one function per thing a caller records.

Labels come from fixed vocabularies only (outcomes, rejection reasons, problem types, notification
kinds, trigger and queue names): a label is a dimension Application Insights keeps and shows to
everyone with access to it, so an id would both leak and explode the series.

| metric | kind | labels |
|---|---|---|
| telederm.uploads | counter | outcome (processed, rejected), reason (a rejection's) |
| telederm.ingest.duration | histogram, s | outcome |
| telederm.patient_key.lookups | observable counter | cache (hit, miss) |
| telederm.keyvault.unwraps | counter | outcome (ok, unavailable) |
| telederm.keyvault.throttles | counter | operation (wrap, unwrap, ...) |
| telederm.access.denials | counter | problem.type, http.response.status_code |
| telederm.notifications | counter | outcome (sent, retried, failed), kind |
| telederm.queue.poisoned | counter | queue (the queue a message failed on) |
| telederm.grants.expiring | counter | notice (expiring, expired) |
| telederm.referrals.notices | counter | notice (dueToday, overdue, noOutcome, unacknowledged): the review clock's |
| telederm.trigger.runs | counter | trigger (timer, queue, blob), name, outcome (ok, failed) |

HTTP request counts and durations come from the request spans (named by route template).
Instruments are made for the meter provider in force, and made again if it changes (tests)."""
from __future__ import annotations

import threading
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Observation

METER_NAME = "telederm"
# key: (instrument, name, unit, description)
_INSTRUMENTS = {
    "uploads": ("counter", "telederm.uploads", "{upload}", "Uploads processed or rejected"),
    "ingest": ("histogram", "telederm.ingest.duration", "s", "Proving, cleaning and thumbnailing one upload"),
    "unwraps": ("counter", "telederm.keyvault.unwraps", "{unwrap}", "Patient keys unwrapped by the KEK"),
    "throttles": ("counter", "telederm.keyvault.throttles", "{response}", "Key Vault answers 429 Too Many Requests"),
    "denials": ("counter", "telederm.access.denials", "{request}", "Requests refused 401, 403 or 404, by problem type"),
    "notifications": ("counter", "telederm.notifications", "{notification}", "Notifications sent, retried, failed"),
    "poisoned": ("counter", "telederm.queue.poisoned", "{message}",
                 "Messages moved to a poison queue after their last attempt"),
    "grants": ("counter", "telederm.grants.expiring", "{grant}", "Grants whose patient was told they end soon or ended"),
    "referrals": ("counter", "telederm.referrals.notices", "{notice}",
                  "Referral review-clock notices (overdue escalations alert)"),
    "runs": ("counter", "telederm.trigger.runs", "{run}", "Runs of timers, queue messages and blob triggers"),
}


class _Instruments:
    """The instruments on one meter provider. Patient-key lookups, on every image view, are two
    integers here, read by an observable counter when metrics are collected: a synchronous counter's
    `add` (attributes hashed, a lock, an aggregation) is most of telemetry's cost on that path."""

    def __init__(self, provider: Any):
        meter = provider.get_meter(METER_NAME)
        self.provider = provider
        self.made = {}
        for each, (kind, name, unit, description) in _INSTRUMENTS.items():
            create = meter.create_histogram if kind == "histogram" else meter.create_counter
            self.made[each] = create(name, unit=unit, description=description)
        self.lock = threading.Lock()
        self.key_lookups = self.key_misses = 0
        meter.create_observable_counter("telederm.patient_key.lookups", callbacks=[self._observe_key_lookups],
                                        unit="{lookup}", description="Patient-key lookups, by cache hit or miss")

    def _observe_key_lookups(self, options: Any) -> list[Observation]:
        with self.lock:
            lookups, misses = self.key_lookups, self.key_misses
        return [Observation(max(lookups - misses, 0), {"cache": "hit"}), Observation(misses, {"cache": "miss"})]


_current: _Instruments | None = None
_making = threading.Lock()


def _instruments() -> _Instruments | None:
    """Those of the meter provider in force (made again if it changes: tests); None with metrics off."""
    global _current
    provider = metrics.get_meter_provider()
    if _current is not None and _current.provider is provider:
        return _current
    if type(provider).__name__ == "_ProxyMeterProvider":
        return None  # off: nothing is made, so nothing is left bound to the proxy when a provider comes
    with _making:  # once per provider, however many requests arrive together
        if _current is None or _current.provider is not provider:
            _current = _Instruments(provider)
        return _current


def _add(key: str, amount: float, labels: dict[str, Any]) -> None:
    made = _instruments()
    if made is not None:
        made.made[key].add(amount, labels)


def upload_processed(seconds: float, rejected: str | None = None) -> None:
    made = _instruments()
    if made is None:
        return
    outcome = "rejected" if rejected else "processed"
    made.made["uploads"].add(1, {"outcome": outcome, **({"reason": rejected} if rejected else {})})
    made.made["ingest"].record(seconds, {"outcome": outcome})


def patient_key_lookup() -> None:
    """A patient key served (by the cache, or by an unwrap that `patient_key_missed` counted)."""
    made = _instruments()
    if made is not None:
        with made.lock:
            made.key_lookups += 1


def patient_key_missed(ok: bool = True) -> None:
    """One unwrap by the KEK, for a lookup the cache could not serve."""
    made = _instruments()
    if made is None:
        return
    with made.lock:
        made.key_misses += 1
    made.made["unwraps"].add(1, {"outcome": "ok" if ok else "unavailable"})


def key_vault_throttled(operation: str) -> None:
    _add("throttles", 1, {"operation": operation})


def access_denied(status: int, problem_type: str) -> None:
    _add("denials", 1, {"problem.type": problem_type, "http.response.status_code": status})


def notification(outcome: str, kind: str | None = None) -> None:
    _add("notifications", 1, {"outcome": outcome, **({"kind": kind} if kind else {})})


def message_poisoned(queue: str) -> None:
    _add("poisoned", 1, {"queue": queue})


def grants_told(notice: str, count: int) -> None:
    if count:
        _add("grants", count, {"notice": notice})


def referral_notices(counts: dict[str, int]) -> None:
    """What one referral_timers run told, by notice (alerts.bicep alerts on `overdue`)."""
    for notice, count in counts.items():
        if count:
            _add("referrals", count, {"notice": notice})


def trigger_ran(kind: str, name: str, *, ok: bool) -> None:
    _add("runs", 1, {"trigger": kind, "name": name, "outcome": "ok" if ok else "failed"})
