"""Key Vault in telemetry: a throttled unwrap is counted, and the SDK's spans name the vault and
`keys`, never the key path (through the real SDK against the Key Vault double)."""
from __future__ import annotations

import os

import pytest

from shared_code.ports.keys import KeyUnavailable
from tests.contract.test_key_wrapper import _close_kv_adapters, kv_adapter, kv_double  # noqa: F401 - fixtures


def test_a_throttled_unwrap_is_counted_and_its_span_shows_no_key_path(kv_double, telemetry):  # noqa: F811
    adapter = kv_adapter(kv_double)
    wrapped = adapter.wrap(os.urandom(32))
    kv_double.throttle(only={"unwrapkey"})
    with pytest.raises(KeyUnavailable):
        adapter.unwrap(wrapped)

    assert telemetry.counted("telederm.keyvault.throttles", operation="unwrap") == 1
    urls = [value for span in telemetry.spans() for key, value in (span.attributes or {}).items()
            if key in ("url.full", "http.url")]
    assert urls and all(url.endswith("/keys/…") for url in urls), urls
    assert not [url for url in urls if wrapped.kid.rsplit("/", 1)[-1] in url]
