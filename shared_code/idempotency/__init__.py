"""Idempotency-Key: a retried creating POST gets the first answer and creates nothing new.

    records.py     `IdempotencyRecord`: one key of one caller, in flight or with its first response
    repository.py  find, claim (create, or take over an expired or abandoned record), complete, release

The HTTP edge (shared_code/http/idempotency.py) is the only user: it decides which requests carry
a key, fingerprints them and replays. Records live in `directory`, one partition per caller
(`idem:<digest of issuer and subject>`), so a key is only ever compared with the same caller's keys.
"""
