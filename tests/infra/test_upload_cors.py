"""CORS for browser uploads straight to blob storage: the allowed origins are a deployment
parameter (UPLOAD_CORS_ORIGINS, e.g. the portal's origin), never hard-coded, never '*', and only for
the PUT of an upload SAS."""
from __future__ import annotations

import json

from tests.infra.bicep import INFRA, Param, config, doc, leaves, one, resolve


def test_the_origins_are_a_deployment_parameter_filled_from_the_environment():
    main = doc("main.bicep")
    param = main["parameters"]["uploadCorsOrigins"]
    assert param["type"] == "string" and param["default"] == ""  # azd substitutes strings only
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["uploadCorsOrigins"]["value"] == "${UPLOAD_CORS_ORIGINS=}"


def test_the_parameter_reaches_the_blob_service_cors_rule():
    main = doc("main.bicep")
    passed = main["modules"]["resources"]["config"]["params"]["uploadCorsOrigins"]
    split = resolve(main, passed)
    assert "uploadCorsOrigins" in {v for v in leaves(split) if isinstance(v, str)}
    assert json.dumps(split).count('"split"') == 1  # comma-separated list -> array
    assert doc("modules/resources.bicep")["modules"]["storage"]["config"]["params"]["uploadCorsOrigins"] == "uploadCorsOrigins"

    d = doc("modules/storage.bicep")
    cors = config(one(d, "Microsoft.Storage/storageAccounts/blobServices"))["properties"]["cors"]["corsRules"]
    # No origins, no rule at all; otherwise one rule with exactly the given origins.
    rule_if_any = cors["operator"]["operands"]
    assert rule_if_any["condition"]["function"]["parameters"]["item_to_test"] == "uploadCorsOrigins"
    assert rule_if_any["true_value"] == []
    [rule] = rule_if_any["false_value"]
    assert resolve(d, rule["allowedOrigins"]) == Param("uploadCorsOrigins")
    assert sorted(rule["allowedMethods"]) == ["OPTIONS", "PUT"]
    assert "x-ms-blob-type" in rule["allowedHeaders"]
    assert "*" not in rule["allowedHeaders"] and "*" not in rule["allowedMethods"]


def test_no_origin_is_hard_coded_in_the_infrastructure():
    d = doc("modules/storage.bicep")
    blob_service = config(one(d, "Microsoft.Storage/storageAccounts/blobServices"))
    literals = {v for v in leaves(blob_service["properties"]["cors"]) if isinstance(v, str)}
    assert not {v for v in literals if v.startswith(("http://", "https://")) or v == "*"}
