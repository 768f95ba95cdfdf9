"""How a byte of a patient's image is encrypted.

    KEK (vault, KeyWrapper port) --wraps--> patient key (with the patient record)
    patient key --AES-256-GCM, AAD=(patient id, image id)--> DEK (one per image)
    DEK --HKDF(salt, context)--> per-object key --Tink AES-GCM-HKDF streaming--> object

envelope.py: the key hierarchy; streaming.py: the object format; key_cache.py: unwrapped patient
keys in memory; context.py: canonical encodings; errors.py: DecryptionError. Pure domain code: no
Azure SDK is imported here, only `cryptography`.
"""
from shared_code.crypto.context import FORMAT_VERSION, ObjectContext, Variant
from shared_code.crypto.envelope import (
    new_dek,
    new_patient_key,
    unwrap_dek,
    unwrap_patient_key,
    wrapped_key_from_dict,
    wrapped_key_to_dict,
)
from shared_code.crypto.errors import DecryptionError
from shared_code.crypto.key_cache import PatientKeyCache
from shared_code.crypto.streaming import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    EncryptingStream,
    ciphertext_length,
    decrypt_object,
    encrypt_object,
    object_prefix,
    verify_object,
)

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "DecryptionError",
    "EncryptingStream",
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "ObjectContext",
    "PatientKeyCache",
    "Variant",
    "ciphertext_length",
    "decrypt_object",
    "encrypt_object",
    "new_dek",
    "new_patient_key",
    "object_prefix",
    "unwrap_dek",
    "unwrap_patient_key",
    "verify_object",
    "wrapped_key_from_dict",
    "wrapped_key_to_dict",
]
