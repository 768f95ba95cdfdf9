"""The unit layer: domain rules on the in-memory fakes of tests/fakes, in seconds, with no emulator.

The session's emulators and the adapter families (tests/conftest.py) are refused here, so a unit
test that reaches for them fails at once instead of quietly starting Azurite.

`domain` is the services of a Container on the fakes, with the steps the rule tests share (the
service-level twins of tests/support/steps.py, without HTTP): an account, a folder, an upload, a
clinic with members, a share. `scene` is where most sharing rules start: a clinic with a clinician,
and a patient with a folder. Tokens are stood in for by `Principal`s, as the token validator would
have built them; `new_domain` builds another Domain, e.g. a second instance over the same fakes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable
from urllib.parse import urlsplit

import pytest

from shared_code.accounts.schemas import AccountIn
from shared_code.adapters.factory import Adapters
from shared_code.auth.principal import CLINICIAN, PATIENT, PLATFORM_ADMIN, Principal
from shared_code.clock import FrozenClock, iso
from shared_code.container import Container
from shared_code.folders.schemas import FolderIn
from shared_code.images.records import ImageRecord
from shared_code.settings import INCOMING_CONTAINER, Settings
from shared_code.sharing.records import Member
from shared_code.sharing.schemas import ClinicIn, MemberIn, ShareIn
from tests import fakes
from tests.support.steps import CONSENT, jpeg

PATIENT_ISSUER = "https://patients.example"
WORKFORCE_ISSUER = "https://workforce.example"
START = datetime(2025, 3, 1, 9, 0, 0, tzinfo=timezone.utc)
OPS = Principal(WORKFORCE_ISSUER, "ops", frozenset({PLATFORM_ADMIN}), name="Ops", email="ops@nhs.net")


@pytest.fixture(scope="session")
def emulator_env():
    pytest.fail("unit tests run on tests/fakes: no emulator (move the test out of tests/unit)")


@pytest.fixture
def family():
    pytest.fail("unit tests run on tests/fakes, not on an adapter family (use the `adapters` fixture)")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def adapters(clock) -> Adapters:
    """One fake of every port; the queue's visibility and the blobs' times follow `clock`."""
    return fakes.adapters(clock)


# --- who calls ----------------------------------------------------------------------------------------
def patient(subject: str = "alice") -> Principal:
    return Principal(PATIENT_ISSUER, subject, frozenset({PATIENT}), name=subject.title())


def clinician(subject: str, email: str | None = "", object_id: str | None = None) -> Principal:
    """A clinician's token: its verified e-mail `<subject>@nhs.net` unless given (None: no e-mail)."""
    return Principal(WORKFORCE_ISSUER, subject, frozenset({CLINICIAN}), name=f"Dr {subject.title()}",
                     email=f"{subject}@nhs.net" if email == "" else email, object_id=object_id)


# --- the services, and the steps tests take through them ------------------------------------------------
class Domain:
    def __init__(self, container: Container):
        self.container = container
        self.clock = container.clock
        self.adapters = container.adapters

    def account(self, subject: str = "alice", **profile) -> Principal:
        """A patient with an account (and so a patient key)."""
        who = patient(subject)
        self.container.accounts.put(who.patient_id, AccountIn(displayName=subject.title(), **profile))
        return who

    def folder(self, who: Principal, label: str = "rash on hands") -> str:
        return self.container.folders.create(who.patient_id, FolderIn(label=label)).id

    def upload(self, who: Principal, folder_id: str, data: bytes | None = None, *, seed: int = 1) -> ImageRecord:
        """A direct upload that must succeed: the ready image."""
        return self.container.ingest.upload(who.patient_id, folder_id, jpeg(seed) if data is None else data,
                                            taken_at=None, note=None, view=None)

    def read(self, who: Principal, image: ImageRecord, variant: str = "original") -> bytes:
        """What the patient's app is shown: the decrypted bytes of one variant."""
        return b"".join(self.container.images.open(who.patient_id, image, variant).chunks)

    def upload_url(self, who: Principal, folder_id: str) -> tuple[str, str]:
        """An upload URL issued (the image waits, pending): (image id, the blob name its bytes go to)."""
        ticket = self.container.ingest.start_upload(who.patient_id, folder_id, taken_at=None, note=None, view=None)
        token = urlsplit(ticket["uploadUrl"]).path.rsplit("/", 1)[-1]
        return ticket["imageId"], self.adapters.upload_url_verifier.verify(token, self.clock.now())

    def put_incoming(self, blob_name: str, data: bytes) -> None:
        """The client's PUT to its upload URL: the bytes land in `incoming` (nothing processes them)."""
        self.adapters.blobs.put(INCOMING_CONTAINER, blob_name, [data])

    def clinic(self, code: str, admin_email: str = "ada@nhs.net", ends_in: timedelta = timedelta(days=365)) -> str:
        """A clinic onboarded by a platform admin, `admin_email` its clinic_admin: its id."""
        return self.container.sharing.clinics.onboard(OPS, ClinicIn(
            name=f"{code.title()} Dermatology", code=code, notificationEmail=f"{code.lower()}@nhs.net",
            subscriptionEndsAt=self.clock.now() + ends_in, adminEmail=admin_email))["id"]

    def member(self, clinic_id: str, email: str, role: str = "clinician", object_id: str | None = None) -> Member:
        return self.container.sharing.members.add(OPS, "platform_admin", clinic_id,
                                                  MemberIn(email=email, role=role, objectId=object_id))

    def share(self, who: Principal, folder_id: str, code: str, *, purposes=("clinical_care", "medical_record"),
              days: int | None = 30, expires_at: datetime | None = None) -> dict:
        """A share with consent, for `days` or until `expires_at`: the grant as the patient sees it."""
        body = ShareIn(clinicCode=code, purposes=list(purposes), consent=CONSENT,
                       durationDays=None if expires_at else days, expiresAt=iso(expires_at) if expires_at else None)
        return self.container.sharing.grants.create(who, who.patient_id, folder_id, body)


@pytest.fixture(scope="session")
def new_domain(tmp_path_factory) -> Callable[..., Domain]:
    """Builds a Domain on its own fakes (or the `adapters` given), at the time of `clock`."""
    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path_factory.mktemp("unit")),
                        PUBLIC_BASE_URL="http://testserver",
                        LOCAL_ISSUER_ENABLED=False,   # no signing key to make: services take Principals here
                        CLINIC_CODE_ATTEMPTS=10_000)  # the rate limit is not what these rules are about

    def build(clock: FrozenClock, adapters: Adapters | None = None) -> Domain:
        return Domain(Container(settings, adapters or fakes.adapters(clock), clock))

    return build


@pytest.fixture
def domain(new_domain, clock, adapters) -> Domain:
    return new_domain(clock, adapters)


@dataclass
class Scene:
    """ALPHA-DERM (clinic_admin ada, clinician cal) and Alice, with an account and a folder."""
    clinic_id: str
    cal: Principal       # cal's token
    cal_member_id: str
    alice: Principal
    folder_id: str


@pytest.fixture
def scene(domain) -> Scene:
    clinic_id = domain.clinic("ALPHA-DERM")
    cal = domain.member(clinic_id, "cal@nhs.net")
    alice = domain.account("alice")
    return Scene(clinic_id, clinician("cal"), cal.id, alice, domain.folder(alice))
