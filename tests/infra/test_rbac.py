"""(b) Least-privilege role assignments, each named guid(scope, principal, role)."""
from __future__ import annotations

import re

from tests.infra.bicep import REPO, all_resources, config, doc, resolve

ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "Storage Queue Data Contributor",
    "db58b8e5-c6ad-4a2a-8342-4190687cbf4a": "Storage Blob Delegator",
    "e147488a-f6f5-4113-8e2d-b22465e65bf6": "Key Vault Crypto Service Encryption User",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
}
# Roles that would give the app's identity more than it needs (owner/contributor of resources,
# key management, secret management, user access administration).
FORBIDDEN = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603": "Key Vault Crypto Officer",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "f25e0fa2-a7c8-4377-a976-54943a77a395": "Key Vault Contributor",
}


def _assignments():
    found = all_resources("Microsoft.Authorization/roleAssignments")
    assert found, "no role assignments"
    return found


def _role_id(file, res):
    d = doc(file)
    role_def = config(res)["properties"]["roleDefinitionId"]["function"]
    assert role_def["type"] == "subscription_resource_id"
    assert role_def["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
    return resolve(d, role_def["parameters"]["resource_name_1"])


def test_every_role_assignment_is_named_guid_of_scope_principal_role():
    for file, name, res in _assignments():
        body = config(res)
        fn = body["name"].get("function", {}) if isinstance(body["name"], dict) else {}
        assert fn.get("type") == "guid", f"{file}: {name} is not named guid(...)"
        args = list(fn["parameters"].values())
        assert len(args) == 3, f"{file}: {name}: guid(scope, principal, role)"
        scope, principal, role = args
        assert scope["operator"]["operands"]["operand_1"] == body["scope"], f"{file}: {name}: first argument is the scope"
        assert principal == body["properties"]["principalId"], f"{file}: {name}: second is the principal"
        assert role == body["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"], (
            f"{file}: {name}: third is the role"
        )
        assert body["properties"]["principalType"] == "ServicePrincipal"


def test_the_identity_gets_exactly_the_least_privilege_roles():
    granted = {}
    for file, name, res in _assignments():
        role = _role_id(file, res)
        assert role not in FORBIDDEN, f"{file}: {name} grants {FORBIDDEN[role]}"
        granted[role] = config(res)["scope"]
    assert set(granted) == set(ROLES), {ROLES.get(r, r) for r in set(granted) ^ set(ROLES)}
    # Narrowest scopes: the KEK itself for crypto, the vault for secrets, App Insights for telemetry.
    assert granted["e147488a-f6f5-4113-8e2d-b22465e65bf6"] == "kek"
    assert granted["4633458b-17de-408a-b874-0445c86b69e6"] == "vault"
    assert granted["3913510d-42f4-4e42-8a64-420c390055eb"] == "applicationInsights"


def test_role_ids_are_commented_with_their_names():
    source = (REPO / "infra" / "modules" / "rbac.bicep").read_text(encoding="utf-8")
    for role_id, role_name in ROLES.items():
        assert re.search(rf"//.*{role_id}\s+{re.escape(role_name)}", source), f"{role_name} not commented"


def test_cosmos_data_plane_assignment_is_guid_named_too():
    d = doc("modules/cosmos.bicep")
    [(file, name, res)] = all_resources("Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    fn = config(res)["name"]["function"]
    assert fn["type"] == "guid" and len(fn["parameters"]) == 3
    assert resolve(d, list(fn["parameters"].values())[2]) == "00000000-0000-0000-0000-000000000002"
