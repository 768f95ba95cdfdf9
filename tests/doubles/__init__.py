"""Test doubles of remote services that have no emulator (Key Vault, later the mail API).

Each double is a real HTTPS server on 127.0.0.1 (see `tls.py`), so the real Azure SDK clients run
their whole pipeline against it: TLS verification, challenge authentication, retries, error mapping.
"""
