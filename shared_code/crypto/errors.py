"""The one error the crypto package raises for data it cannot authenticate.

Callers (the HTTP layer, the thumbnailer) must not be able to tell *why* a ciphertext was refused:
a wrong id, a swapped key, a flipped bit, a truncated blob and a wrong length all look the same to
them, so they cannot build an oracle out of the difference, and there is exactly one `except` to
write. The message is for logs only and never contains key material or plaintext.

Programming errors (a key of the wrong size, a `str` where bytes were meant) are *not*
DecryptionError: they raise ValueError/TypeError so they surface as bugs instead of as "tampered".
"""
from __future__ import annotations


class DecryptionError(Exception):
    """The ciphertext, wrapped key or its stored metadata is inconsistent with the key and context
    it was presented with. Nothing decrypted from it may be used."""
