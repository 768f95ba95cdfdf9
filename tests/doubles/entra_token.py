"""A test double of a Microsoft Entra token credential, for Azurite started with `--oauth basic`.

Azurite in basic OAuth mode checks a bearer token's issuer, audience and lifetime, not its
signature, so this credential mints an unsigned-in-effect JWT with the claims Azurite expects. With
it the real SDK fetches a user-delegation key and signs user-delegation SAS, as the managed identity
does in Azure."""
from __future__ import annotations

import time

import jwt
from azure.core.credentials import AccessToken

TENANT = "ab1f708d-50f6-404c-a006-d71b2ac7a606"


class AzuriteEntraCredential:
    def get_token(self, *scopes, **kwargs) -> AccessToken:
        now = int(time.time())
        claims = {"aud": "https://storage.azure.com", "iss": f"https://sts.windows.net/{TENANT}/", "iat": now,
                  "nbf": now, "exp": now + 3600, "oid": "23657296-5cd5-45b0-a809-d972a7f4dfe1", "tid": TENANT}
        return AccessToken(jwt.encode(claims, "azurite-basic-oauth-ignores-signatures-32b", algorithm="HS256"), now + 3600)
