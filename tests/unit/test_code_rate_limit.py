"""Clinic-code guessing is limited per identity and per client address, across instances."""
import pytest

from shared_code.errors import ClinicCodeNotFound, RateLimited
from shared_code.observability import request_peer
from shared_code.sharing.ratelimit import Limit, client_address
from tests.unit.conftest import patient


@pytest.fixture
def from_address():
    """Requests from one client address, as the HTTP middleware would record it."""
    token = request_peer.set(("203.0.113.7", None))
    yield
    request_peer.reset(token)


@pytest.fixture
def two_instances(new_domain, clock, adapters):
    """Two workers over the same stores, at the default limits (10 per patient, 30 per address)."""
    first, second = new_domain(clock, adapters), new_domain(clock, adapters)
    for one in (first, second):  # the unit domain lifts the limits; these rules are about them
        one.container.sharing.limiter.per_identity = Limit(10, 60)
        one.container.sharing.limiter.per_address = Limit(30, 60)
    return first, second


def guess(domain, who: str, code: str = "WRONG-1") -> str:
    try:
        domain.container.sharing.clinics.lookup(patient(who).patient_id, code)
    except ClinicCodeNotFound:
        return "404"
    except RateLimited:
        return "429"
    return "200"


def test_sixty_guesses_over_six_identities_from_one_address_meet_a_429(two_instances, from_address):
    first, second = two_instances
    outcomes = [guess((first, second)[n % 2], f"p{n // 10}") for n in range(60)]
    assert outcomes[:30] == ["404"] * 30
    assert set(outcomes[30:]) == {"429"}


def test_one_identity_is_limited_across_instances_and_addresses(two_instances):
    first, second = two_instances
    for n in range(10):
        token = request_peer.set((f"198.51.100.{n}", None))
        try:
            assert guess((first, second)[n % 2], "mallory") == "404"
        finally:
            request_peer.reset(token)
    assert guess(first, "mallory") == "429" and guess(second, "mallory") == "429"
    assert guess(second, "alice") == "404"  # another patient is not affected


def test_the_limits_reset_with_the_window(two_instances, from_address, clock):
    first, _ = two_instances
    for n in range(30):
        guess(first, f"p{n}")
    with pytest.raises(RateLimited) as limited:
        first.container.sharing.clinics.lookup(patient("late").patient_id, "WRONG-1")
    assert 1 <= limited.value.retry_after <= 60
    clock.advance(seconds=limited.value.retry_after)
    assert guess(first, "late") == "404"


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    ("10.0.0.1", None, False, "10.0.0.1"),
    ("10.0.0.1", "1.2.3.4", False, "10.0.0.1"),            # not trusted: the header is anyone's to write
    (None, "1.2.3.4, 203.0.113.9:50312", True, "203.0.113.9"),  # the front end's own (last) entry, no port
    (None, "[2001:db8:1:2::5]:443", True, "2001:db8:1:2::/64"),  # IPv6: the subscriber's /64
    (None, "2001:db8:1:2:aaaa::7", True, "2001:db8:1:2::/64"),
    (None, None, True, None),
    (None, None, False, None),
])
def test_client_address(peer, forwarded, trusted, expected):
    assert client_address(peer, forwarded, trusted) == expected
