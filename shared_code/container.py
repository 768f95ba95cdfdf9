"""The composition root: settings + adapters -> repositories, services and the token validator.

Built on the first request (never at import). Tests build their own with injected adapters."""
from __future__ import annotations

import threading

from shared_code.adapters.factory import Adapters, build_adapters
from shared_code.auth.local_issuer import LocalIssuer
from shared_code.auth.tokens import TokenValidator, TrustedIssuer, jwks_key_lookup
from shared_code.clock import Clock
from shared_code.repositories.patients import PatientRepository
from shared_code.services.accounts import AccountService
from shared_code.services.folders import FolderService
from shared_code.settings import Settings

LOCAL_ISSUER_PATH = "/api/dev"


class Container:
    def __init__(self, settings: Settings, adapters: Adapters, clock: Clock | None = None):
        self.settings = settings
        self.adapters = adapters
        self.clock = clock or Clock()
        self.local_issuer = (
            LocalIssuer(settings.data_dir, settings.public_base_url.rstrip("/") + LOCAL_ISSUER_PATH)
            if settings.local_issuer else None
        )
        self.tokens = TokenValidator(self._trusted_issuers())
        self.patients = PatientRepository(adapters.documents)
        self.folders = FolderService(self.patients, self.clock)
        self.accounts = AccountService(self.patients, self.clock)

    def _trusted_issuers(self) -> list[TrustedIssuer]:
        s = self.settings
        issuers = []
        if s.patient_issuer and s.patient_jwks_uri and s.patient_audience:
            issuers.append(TrustedIssuer("patients", s.patient_issuer, s.patient_audience,
                                         jwks_key_lookup(s.patient_jwks_uri), role_mode="patient"))
        if s.workforce_issuer and s.workforce_jwks_uri and s.workforce_audience:
            issuers.append(TrustedIssuer("workforce", s.workforce_issuer, s.workforce_audience,
                                         jwks_key_lookup(s.workforce_jwks_uri), role_mode="roles_claim",
                                         email_verified_by_issuer=True))
        if self.local_issuer is not None:
            issuers.append(self.local_issuer.trusted_issuer())
        return issuers


class LazyContainer:
    """Builds the container once, on first use, thread-safely."""

    def __init__(self, factory):
        self._factory = factory
        self._container: Container | None = None
        self._lock = threading.Lock()

    def get(self) -> Container:
        if self._container is None:
            with self._lock:
                if self._container is None:
                    self._container = self._factory()
        return self._container


def container_from_environment() -> Container:
    settings = Settings()
    return Container(settings, build_adapters(settings))
