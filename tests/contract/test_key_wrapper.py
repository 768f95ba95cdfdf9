"""Contract of the KeyWrapper port, run against both adapters and the unit layer's fake:

* `local`: LocalKeyWrapper over key files in tmp_path;
* `keyvault`: KeyVaultKeyWrapper through the real azure-keyvault-keys SDK against KeyVaultDouble,
  an HTTPS test double of the Key Vault REST API (tests/doubles/keyvault.py), TLS verified with the
  double's CA bundle via `connection_verify`;
* `memory`: FakeKeyWrapper (tests/fakes/keys.py) over one FakeVault.

Shared error contract: an unusable KEK version raises KeyUnavailable; a bad wrapped key (tampered
ciphertext, foreign kid) raises ValueError, never KeyUnavailable.
Adapter-specific behaviour (throttling, caching, challenge auth, key files) follows the contract.
"""
from __future__ import annotations

import os
import re
import stat
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import pytest

from shared_code.adapters.azure.keyvault_kek import KeyVaultKeyWrapper, KeyVaultUnavailable
from shared_code.adapters.local.kek_file import LocalKeyWrapper
from shared_code.ports.keys import KeyUnavailable, KeyWrapper, WrappedKey
from tests.doubles.keyvault import KeyVaultDouble, StaticTokenCredential
from tests.fakes.keys import FakeKeyWrapper, FakeVault

KEY_NAME = "kek"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """How the contract drives one adapter family."""

    name: str
    make: Callable[[], KeyWrapper]  # a new adapter instance over the same KEK store
    rotate: Callable[[KeyWrapper], None]  # add a KEK version and let `adapter` see it
    make_unusable: Callable[[str], None]  # disable (Key Vault) / delete (local) the version named by a kid
    break_current: Callable[[], None]  # make the newest version unusable (disable / corrupt its file)
    foreign_kid: str  # a well-formed kid of some other KEK
    expected_alg: str
    adapters: list = field(default_factory=list)

    def adapter(self) -> KeyWrapper:
        adapter = self.make()
        self.adapters.append(adapter)
        return adapter


_open_adapters: list[KeyVaultKeyWrapper] = []


@pytest.fixture(autouse=True)
def _close_kv_adapters():
    yield
    while _open_adapters:
        _open_adapters.pop().close()


def _no_proxy_for_loopback(monkeypatch) -> None:
    # requests honours HTTPS_PROXY from the environment; the double is on loopback.
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name)
        monkeypatch.setenv(name, f"{current},127.0.0.1,localhost" if current else "127.0.0.1,localhost")


@pytest.fixture
def kv_double(tmp_path, monkeypatch):
    _no_proxy_for_loopback(monkeypatch)
    with KeyVaultDouble(tmp_dir=tmp_path / "kv-double") as double:
        double.create_key(KEY_NAME)
        yield double


def kv_adapter(double: KeyVaultDouble, clock: FakeClock | None = None, credential=None, **overrides) -> KeyVaultKeyWrapper:
    """How tests build the Key Vault adapter against the double (closed after the test)."""
    kwargs = dict(
        connection_verify=double.ca_bundle_path,  # trust the double's throwaway CA, verify TLS for real
        verify_challenge_resource=False,  # the challenge names vault.azure.net, the double is 127.0.0.1
        retry_total=0,  # no SDK retries (Retry-After would make the tests sleep); see test_sdk_retries_*
    )
    if clock is not None:
        kwargs["clock"] = clock
    kwargs.update(overrides)
    adapter = KeyVaultKeyWrapper(double.url, KEY_NAME, credential or double.credential, **kwargs)
    _open_adapters.append(adapter)
    return adapter


def _local_harness(tmp_path: Path) -> Harness:
    directory = tmp_path / "data" / "kek"

    def file_of(kid: str) -> Path:
        return directory / f"{kid.rsplit('/', 1)[1].split('-')[0]}.key"

    def make_unusable(kid: str) -> None:
        file_of(kid).unlink()

    def break_current() -> None:
        # Deleting the newest file would just make the previous version current again (and deleting
        # the only one would start a new key), so corrupt it instead.
        file_of(LocalKeyWrapper(directory).current_kid()).write_bytes(b"corrupt")

    return Harness(
        name="local",
        make=lambda: LocalKeyWrapper(directory),
        rotate=lambda adapter: LocalKeyWrapper(directory).rotate(),  # any instance: same files
        make_unusable=make_unusable,
        break_current=break_current,
        foreign_kid="local:other/000001-00000000",
        expected_alg="A256GCMKW",
    )


def _keyvault_harness(double: KeyVaultDouble) -> Harness:
    clock = FakeClock()

    def rotate(adapter) -> None:
        double.rotate(KEY_NAME)  # as the vault's rotation policy would
        clock.advance(301)  # past the adapter's 5-minute cache of the newest version

    return Harness(
        name="keyvault",
        make=lambda: kv_adapter(double, clock),
        rotate=rotate,
        make_unusable=lambda kid: double.disable(KEY_NAME, kid.rsplit("/", 1)[1]),
        break_current=lambda: double.disable(KEY_NAME),
        foreign_kid=f"{double.url}/keys/other-kek/0123456789abcdef0123456789abcdef",
        expected_alg="RSA-OAEP-256",
    )


def _memory_harness() -> Harness:
    vault = FakeVault()
    return Harness(
        name="memory",
        make=lambda: FakeKeyWrapper(vault),
        rotate=lambda adapter: vault.rotate(),
        make_unusable=vault.disable,
        break_current=lambda: vault.disable(vault.current_kid()),
        foreign_kid="memory-other/v1",
        expected_alg="A256GCMKW",
    )


@pytest.fixture(params=["local", "keyvault", "memory"])
def harness(request, tmp_path):
    if request.param == "local":
        h = _local_harness(tmp_path)
    elif request.param == "memory":
        h = _memory_harness()
    else:
        h = _keyvault_harness(request.getfixturevalue("kv_double"))
    return h  # Key Vault adapters are closed by _close_kv_adapters


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


# -- the contract -------------------------------------------------------------------------------------


def test_round_trip_of_32_byte_keys(harness):
    adapter = harness.adapter()
    for _ in range(3):
        key = os.urandom(32)
        wrapped = adapter.wrap(key)
        assert isinstance(wrapped, WrappedKey)
        assert wrapped.ciphertext != key and key not in wrapped.ciphertext
        assert adapter.unwrap(wrapped) == key


def test_wrapped_key_names_current_version_and_algorithm(harness):
    adapter = harness.adapter()
    wrapped = adapter.wrap(os.urandom(32))
    assert wrapped.kid == adapter.current_kid()
    assert wrapped.alg == harness.expected_alg


def test_wrapping_the_same_key_twice_gives_different_ciphertexts(harness):
    # Holds for RSA-OAEP-256 and A256GCMKW (randomised); A256KW (Managed HSM) is deterministic.
    adapter = harness.adapter()
    key = os.urandom(32)
    first, second = adapter.wrap(key), adapter.wrap(key)
    assert first.ciphertext != second.ciphertext
    assert adapter.unwrap(first) == adapter.unwrap(second) == key


def test_after_rotation_new_wraps_use_the_new_version_and_old_ones_still_unwrap(harness):
    adapter = harness.adapter()
    old_kid = adapter.current_kid()
    old_key = os.urandom(32)
    old = adapter.wrap(old_key)

    harness.rotate(adapter)

    new_kid = adapter.current_kid()
    assert new_kid != old_kid
    new_key = os.urandom(32)
    new = adapter.wrap(new_key)
    assert new.kid == new_kid
    assert adapter.unwrap(old) == old_key
    assert adapter.unwrap(new) == new_key


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_tampered_ciphertext_fails_as_invalid_not_unavailable(harness, where):
    adapter = harness.adapter()
    wrapped = adapter.wrap(os.urandom(32))
    index = {"first": 0, "middle": len(wrapped.ciphertext) // 2, "last": len(wrapped.ciphertext) - 1}[where]
    with pytest.raises(ValueError) as info:
        adapter.unwrap(replace(wrapped, ciphertext=_flip(wrapped.ciphertext, index)))
    assert not isinstance(info.value, KeyUnavailable)


def test_truncated_ciphertext_fails_as_invalid(harness):
    adapter = harness.adapter()
    wrapped = adapter.wrap(os.urandom(32))
    with pytest.raises(ValueError):
        adapter.unwrap(replace(wrapped, ciphertext=wrapped.ciphertext[:-8]))


def test_kid_of_another_kek_is_rejected_as_invalid(harness):
    adapter = harness.adapter()
    wrapped = adapter.wrap(os.urandom(32))
    with pytest.raises(ValueError):
        adapter.unwrap(replace(wrapped, kid=harness.foreign_kid))
    with pytest.raises(ValueError):
        adapter.unwrap(replace(wrapped, kid="not a kid"))


def test_unusable_version_raises_key_unavailable_and_others_keep_working(harness):
    adapter = harness.adapter()
    old_key = os.urandom(32)
    old = adapter.wrap(old_key)
    harness.rotate(adapter)
    new_key = os.urandom(32)
    new = adapter.wrap(new_key)

    harness.make_unusable(old.kid)

    with pytest.raises(KeyUnavailable):
        adapter.unwrap(old)
    with pytest.raises(KeyUnavailable):
        harness.adapter().unwrap(old)  # a fresh instance too
    assert adapter.unwrap(new) == new_key


def test_unusable_current_version_fails_check_and_wrap(harness):
    adapter = harness.adapter()
    adapter.check()
    harness.break_current()
    fresh = harness.adapter()
    with pytest.raises(KeyUnavailable):
        fresh.check()
    with pytest.raises(KeyUnavailable):
        fresh.wrap(os.urandom(32))


def test_a_new_instance_unwraps_what_an_earlier_one_wrapped(harness):
    first = harness.adapter()
    key = os.urandom(32)
    wrapped = first.wrap(key)
    second = harness.adapter()
    assert second.current_kid() == first.current_kid()
    assert second.unwrap(wrapped) == key


def test_check_passes_on_a_usable_kek(harness):
    harness.adapter().check()


def test_wrap_rejects_non_bytes_and_empty_keys(harness):
    adapter = harness.adapter()
    with pytest.raises((ValueError, TypeError)):
        adapter.wrap(b"")
    with pytest.raises((ValueError, TypeError)):
        adapter.wrap("not bytes")  # type: ignore[arg-type]


# -- Key Vault adapter specifics ----------------------------------------------------------------------


def test_keyvault_throttling_raises_key_unavailable_with_retry_after(kv_double):
    adapter = kv_adapter(kv_double)
    wrapped = adapter.wrap(os.urandom(32))
    kv_double.throttle(retry_after=7, only={"unwrapkey"})
    with pytest.raises(KeyUnavailable) as info:
        adapter.unwrap(wrapped)
    assert isinstance(info.value, KeyVaultUnavailable)
    assert info.value.status_code == 429
    assert info.value.retry_after == 7.0
    assert adapter.unwrap(wrapped)  # the vault recovered


def test_keyvault_throttled_get_fails_check_and_first_wrap(kv_double):
    adapter = kv_adapter(kv_double)
    kv_double.throttle(count=2, retry_after=3, only={"get"})
    with pytest.raises(KeyUnavailable):
        adapter.check()
    with pytest.raises(KeyUnavailable) as info:
        adapter.wrap(os.urandom(32))
    assert info.value.retry_after == 3.0
    adapter.check()


@pytest.mark.parametrize("status", [500, 503])
def test_keyvault_server_errors_raise_key_unavailable(kv_double, status):
    adapter = kv_adapter(kv_double)
    wrapped = adapter.wrap(os.urandom(32))
    kv_double.fail_next(status, only={"unwrapkey"})
    with pytest.raises(KeyUnavailable) as info:
        adapter.unwrap(wrapped)
    assert info.value.status_code == status


def test_keyvault_unreachable_vault_raises_key_unavailable(kv_double):
    adapter = kv_adapter(kv_double)
    wrapped = adapter.wrap(os.urandom(32))
    kv_double.stop()
    with pytest.raises(KeyUnavailable):
        adapter.unwrap(wrapped)
    with pytest.raises(KeyUnavailable):
        kv_adapter(kv_double).check()


def test_keyvault_rejected_token_raises_key_unavailable(kv_double):
    adapter = kv_adapter(kv_double, credential=StaticTokenCredential("some-other-token"))
    with pytest.raises(KeyUnavailable) as info:
        adapter.check()
    assert info.value.status_code == 401


def test_keyvault_challenge_flow_derives_scope_and_tenant_from_the_vault(kv_double):
    credential = kv_double.credential
    adapter = kv_adapter(kv_double, credential=credential)
    adapter.unwrap(adapter.wrap(os.urandom(32)))
    assert credential.requests, "the SDK never asked the credential for a token"
    assert {r["scopes"] for r in credential.requests} == {("https://vault.azure.net/.default",)}
    assert {r["tenant_id"] for r in credential.requests} == {kv_double.tenant_id}
    assert kv_double.counts["challenge"] >= 1  # the first request went out without a token
    assert kv_double.counts["rejected_token"] == 0


def test_keyvault_wraps_use_the_cached_newest_version_and_unwraps_always_reach_the_vault(kv_double):
    clock = FakeClock()
    adapter = kv_adapter(kv_double, clock)
    wrapped = [adapter.wrap(os.urandom(32)) for _ in range(5)]
    assert kv_double.get_calls == 1  # one GET for the newest version, not one per wrap
    assert kv_double.wrap_calls == 0  # RSA wraps happen locally with the public key
    for w in wrapped:
        adapter.unwrap(w)
    assert kv_double.unwrap_calls == 5  # the private key never leaves the vault

    kv_double.rotate(KEY_NAME)
    assert adapter.current_kid() == wrapped[0].kid  # still cached
    clock.advance(301)
    assert adapter.current_kid() == kv_double.key_id(KEY_NAME)
    assert kv_double.get_calls == 2


def test_keyvault_refresh_picks_up_a_rotation_at_once(kv_double):
    adapter = kv_adapter(kv_double, FakeClock())
    before = adapter.current_kid()
    kv_double.rotate(KEY_NAME)
    assert adapter.refresh() == kv_double.key_id(KEY_NAME) != before


def test_keyvault_kid_for_another_host_is_rejected_without_contacting_it(kv_double):
    adapter = kv_adapter(kv_double)
    wrapped = adapter.wrap(os.urandom(32))
    version = wrapped.kid.rsplit("/", 1)[1]
    kv_double.reset_counts()
    for kid in (
        f"https://evil.example/keys/{KEY_NAME}/{version}",
        f"http{kv_double.url[5:]}/keys/{KEY_NAME}/{version}",  # http://, same host
        f"{kv_double.url}/keys/{KEY_NAME}/{version}/unwrapkey",
        f"{kv_double.url}/keys/{KEY_NAME}/{version}?x=1",
    ):
        with pytest.raises(ValueError):
            adapter.unwrap(replace(wrapped, kid=kid))
    assert kv_double.requests == []


def test_keyvault_disabled_newest_version_stops_wraps_once_the_cache_expires(kv_double):
    clock = FakeClock()
    adapter = kv_adapter(kv_double, clock)
    adapter.wrap(os.urandom(32))
    kv_double.disable(KEY_NAME)
    clock.advance(301)
    with pytest.raises(KeyUnavailable):
        adapter.wrap(os.urandom(32))


def test_keyvault_deleted_key_raises_key_unavailable(kv_double):
    adapter = kv_adapter(kv_double)
    wrapped = adapter.wrap(os.urandom(32))
    kv_double.delete_key(KEY_NAME)
    with pytest.raises(KeyUnavailable) as info:
        kv_adapter(kv_double).unwrap(wrapped)
    assert info.value.status_code == 404


def test_sdk_retries_a_transient_throttle_with_the_default_retry_policy(kv_double):
    adapter = kv_adapter(kv_double, retry_total=2)
    wrapped = adapter.wrap(os.urandom(32))
    kv_double.throttle(retry_after="0.01", only={"unwrapkey"})
    assert len(adapter.unwrap(wrapped)) == 32
    assert kv_double.counts["injected"] == 1


def test_keyvault_without_get_permission_sdk_wraps_remotely_and_adapter_unwraps(kv_double):
    from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

    key = os.urandom(32)
    kv_double.forbid_get = True
    client = CryptographyClient(
        kv_double.key_id(KEY_NAME), kv_double.credential,
        connection_verify=kv_double.ca_bundle_path, verify_challenge_resource=False,
    )
    with client:
        result = client.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, key)
    assert kv_double.wrap_calls == 1  # the double's remote wrap path
    kv_double.forbid_get = False
    wrapped = WrappedKey(kid=result.key_id, alg="RSA-OAEP-256", ciphertext=result.encrypted_key)
    assert kv_adapter(kv_double).unwrap(wrapped) == key


# -- Managed HSM (A256KW, oct-HSM) ---------------------------------------------------------------------


@pytest.fixture
def hsm_double(tmp_path, monkeypatch):
    _no_proxy_for_loopback(monkeypatch)
    with KeyVaultDouble(tmp_dir=tmp_path / "hsm-double", resource="https://managedhsm.azure.net") as double:
        double.create_key(KEY_NAME, kty="oct-HSM")
        yield double


def test_managed_hsm_a256kw_wraps_and_unwraps_in_the_hsm(hsm_double):
    adapter = kv_adapter(hsm_double, algorithm="A256KW")
    key = os.urandom(32)
    wrapped = adapter.wrap(key)
    assert wrapped.alg == "A256KW" and wrapped.kid == hsm_double.key_id(KEY_NAME)
    assert hsm_double.wrap_calls == 1  # no local wrap: the HSM never hands out the AES key
    assert kv_adapter(hsm_double, algorithm="A256KW").unwrap(wrapped) == key
    assert hsm_double.unwrap_calls == 1
    with pytest.raises(ValueError):
        adapter.unwrap(replace(wrapped, ciphertext=_flip(wrapped.ciphertext, 3)))
    hsm_double.disable(KEY_NAME)
    with pytest.raises(KeyUnavailable):
        adapter.unwrap(wrapped)


def test_sdk_local_wrap_of_oct_hsm_key_is_unrecoverable(hsm_double):
    """Why KeyVaultKeyWrapper sends A256KW wraps itself: CryptographyClient (azure-keyvault-keys
    4.11.3) "wraps" an oct-HSM key locally with a random key, since the bundle has no `k`.
    If this test fails, the SDK has fixed that; the workaround may then be reconsidered."""
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

    kw = dict(connection_verify=hsm_double.ca_bundle_path, verify_challenge_resource=False)
    with KeyClient(hsm_double.url, hsm_double.credential, **kw) as keys:
        key = keys.get_key(KEY_NAME)
    with CryptographyClient(key, hsm_double.credential, **kw) as client:
        result = client.wrap_key(KeyWrapAlgorithm.aes_256, os.urandom(32))
    assert hsm_double.wrap_calls == 0
    wrapped = WrappedKey(kid=key.id, alg="A256KW", ciphertext=result.encrypted_key)
    with pytest.raises(ValueError):  # the HSM cannot unwrap it: 400 BadParameter
        kv_adapter(hsm_double, algorithm="A256KW").unwrap(wrapped)


# -- local adapter specifics ---------------------------------------------------------------------------


def test_local_key_files_are_private_and_created_on_first_use(tmp_path):
    directory = tmp_path / "data" / "kek"
    adapter = LocalKeyWrapper(directory)
    assert not directory.exists()
    kid = adapter.current_kid()
    assert re.fullmatch(r"local:kek/000001-[0-9a-f]{8}", kid)
    path = directory / "000001.key"
    assert len(path.read_bytes()) == 32
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(directory.stat().st_mode) & 0o077 == 0
    new_kid = adapter.rotate()
    assert re.fullmatch(r"local:kek/000002-[0-9a-f]{8}", new_kid)
    assert adapter.kids() == [kid, new_kid] and adapter.current_kid() == new_kid
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_local_concurrent_first_use_agrees_on_one_version(tmp_path):
    directory = tmp_path / "kek"
    barrier = threading.Barrier(8)
    kids: list[str] = []

    def first_use() -> None:
        barrier.wait()
        kids.append(LocalKeyWrapper(directory).current_kid())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(kids)) == 1 and kids[0].startswith("local:kek/000001-")
    assert LocalKeyWrapper(directory).kids() == kids[:1]


def test_local_corrupt_key_file_raises_key_unavailable(tmp_path):
    adapter = LocalKeyWrapper(tmp_path / "kek")
    wrapped = adapter.wrap(os.urandom(32))
    (tmp_path / "kek" / "000001.key").write_bytes(b"short")
    with pytest.raises(KeyUnavailable):
        adapter.unwrap(wrapped)


def test_local_wrapped_key_cannot_be_relabelled_to_another_version(tmp_path):
    adapter = LocalKeyWrapper(tmp_path / "kek")
    wrapped = adapter.wrap(os.urandom(32))
    new_kid = adapter.rotate()
    with pytest.raises(ValueError):  # the kid is authenticated data
        adapter.unwrap(replace(wrapped, kid=new_kid))


def test_local_key_recreated_after_deletion_does_not_pass_for_the_old_one(tmp_path):
    adapter = LocalKeyWrapper(tmp_path / "kek")
    wrapped = adapter.wrap(os.urandom(32))
    (tmp_path / "kek" / "000001.key").unlink()  # all keys wiped
    assert adapter.current_kid() != wrapped.kid  # a new key, also numbered 000001
    with pytest.raises(KeyUnavailable):
        adapter.unwrap(wrapped)


def test_local_unusable_directory_fails_check(tmp_path):
    not_a_dir = tmp_path / "kek"
    not_a_dir.write_bytes(b"")
    with pytest.raises(KeyUnavailable):
        LocalKeyWrapper(not_a_dir).check()
