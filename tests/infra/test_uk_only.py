"""(b) UK only: nothing can be deployed, replicated or failed over outside UK South / UK West."""
from __future__ import annotations

import json
import re

from tests.infra.bicep import (
    INFRA,
    REPO,
    UK_REGIONS,
    Param,
    all_docs,
    all_resources,
    config,
    decorators,
    doc,
    leaves,
    one,
    resolve,
    resources,
)

ALLOWED_LOCATIONS = "/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c"
ALLOWED_RG_LOCATIONS = "/providers/Microsoft.Authorization/policyDefinitions/e765b5de-1225-4ba3-bd56-1ac6695af988"

# Azure public, sovereign and canary regions other than the UK pair (programmatic names), plus the
# display names most likely to be typed by hand.
NON_UK_REGIONS = """
eastus eastus2 westus westus2 westus3 centralus northcentralus southcentralus westcentralus
eastus2euap centraluseuap eastusstg southcentralusstg canadacentral canadaeast brazilsouth
brazilsoutheast mexicocentral chilecentral northeurope westeurope francecentral francesouth
germanywestcentral germanynorth norwayeast norwaywest switzerlandnorth switzerlandwest
swedencentral swedensouth polandcentral italynorth spaincentral austriaeast belgiumcentral
denmarkeast finlandcentral greececentral uaenorth uaecentral qatarcentral israelcentral
israelnorthwest saudiarabiacentral southafricanorth southafricawest eastasia southeastasia
japaneast japanwest koreacentral koreasouth australiaeast australiasoutheast australiacentral
australiacentral2 centralindia southindia westindia jioindiacentral jioindiawest
indonesiacentral malaysiawest malaysiasouth newzealandnorth taiwannorth taiwannorthwest
chinaeast chinaeast2 chinaeast3 chinanorth chinanorth2 chinanorth3 usgovvirginia usgovarizona
usgovtexas usgoviowa usdodeast usdodcentral
""".split()
NON_UK_DISPLAY_NAMES = [
    "west europe", "north europe", "east us", "east us 2", "west us", "central us",
    "france central", "germany west central", "sweden central", "switzerland north",
    "norway east", "poland central", "italy north", "spain central", "east asia",
    "southeast asia", "australia east", "canada central", "brazil south", "japan east",
]
NON_UK_PATTERN = re.compile(
    r"(?<![a-z0-9])(" + "|".join(sorted(NON_UK_REGIONS, key=len, reverse=True)) + r")(?![a-z0-9])"
    + r"|\b(" + "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in NON_UK_DISPLAY_NAMES) + r")\b",
    re.IGNORECASE,
)


def _infra_text_files():
    files = [p for p in INFRA.rglob("*") if p.is_file()]
    files += [REPO / "azure.yaml", REPO / "scripts" / "deploy.sh", REPO / "docs" / "operations.md"]
    return sorted(files)


def _location_params():
    for file, d in all_docs().items():
        for name, param in (d.get("parameters") or {}).items():
            if "location" in name.lower():
                yield file, name, param


def test_there_are_location_parameters():
    found = {(file, name) for file, name, _ in _location_params()}
    assert ("main.bicep", "location") in found
    assert ("modules/cosmos.bicep", "failoverLocation") in found


def test_every_location_parameter_allows_exactly_the_uk_regions():
    problems = []
    for file, name, param in _location_params():
        allowed = decorators(param).get("allowed")
        if allowed is None or sorted(allowed) != sorted(UK_REGIONS):
            problems.append(f"{file}: param {name} allows {allowed}")
        default = param.get("default")
        # No default, a UK literal, or nothing but UK literals and the location parameter.
        literals = {v for v in leaves(default) if isinstance(v, str)} - {"location"} if default else set()
        if not literals <= UK_REGIONS:
            problems.append(f"{file}: param {name} defaults to {default!r}")
    assert not problems, "\n".join(problems)


# Resource types Azure offers only in 'global' or in regions none of which is in the UK, with why we
# accept them. Nothing else may be global. (The built-in "Allowed locations" policy exempts 'global'.)
GLOBAL_ONLY = {
    # Action groups run 'global' or in a short list of regions with no UK region. Ours holds the
    # operations mailbox address only; the alert rules and all telemetry are in the UK.
    "Microsoft.Insights/actionGroups": "modules/alerts.bicep",
}


def test_every_resource_and_module_location_is_a_uk_parameter():
    for file, d in all_docs().items():
        for name, res in resources(d).items():
            body = config(res)
            if "location" in body:
                loc = resolve(d, body["location"])
                if GLOBAL_ONLY.get(res["type"]) == file:
                    assert loc == "global", f"{file}: {name}.location is {loc!r}"
                    continue
                assert isinstance(loc, Param), f"{file}: {name}.location is {loc!r}, not a parameter"
                allowed = decorators(d["parameters"][loc.name]).get("allowed")
                assert sorted(allowed or []) == sorted(UK_REGIONS), f"{file}: {name}.location"
        for name, module in (d.get("modules") or {}).items():
            for key, value in module["config"].get("params", {}).items():
                if "location" not in key.lower():
                    continue
                loc = resolve(d, value)
                if isinstance(loc, Param):
                    allowed = decorators(d["parameters"][loc.name]).get("allowed")
                    assert sorted(allowed or []) == sorted(UK_REGIONS), f"{file}: module {name}.{key}"
                else:  # an expression: only UK literals in it
                    literals = {v for v in leaves(loc) if isinstance(v, str)} - {"location"}
                    assert literals <= UK_REGIONS, f"{file}: module {name}.{key} = {loc!r}"


def test_the_only_global_resource_is_the_action_group_which_holds_no_data():
    found = []
    for file, d in all_docs().items():
        for name, res in resources(d).items():
            if resolve(d, config(res).get("location")) == "global":
                found.append((file, res["type"]))
    assert found == [("modules/alerts.bicep", "Microsoft.Insights/actionGroups")], found
    [(_, _, group)] = all_resources("Microsoft.Insights/actionGroups")
    receivers = {key for key, value in config(group)["properties"].items() if key.endswith("Receivers") and value}
    assert receivers == {"emailReceivers"}, "the action group only sends e-mail (no webhook, no Logic App)"


def test_cosmos_replicates_only_to_the_uk_pair():
    d = doc("modules/cosmos.bicep")
    account = config(one(d, "Microsoft.DocumentDB/databaseAccounts"))
    names = [resolve(d, loc["locationName"]) for loc in account["properties"]["locations"]]
    assert names == [Param("location"), Param("failoverLocation")]
    assert account["properties"]["enableMultipleWriteLocations"] is False


def test_storage_is_geo_redundant_within_the_uk_pair_only():
    d = doc("modules/storage.bicep")
    sku = resolve(d, config(one(d, "Microsoft.Storage/storageAccounts"))["sku"]["name"])
    skus = {v for v in leaves(sku) if isinstance(v, str) and v.startswith(("Standard_", "Premium_"))}
    # GRS-family SKUs replicate to the region's fixed Azure pair: UK South <-> UK West.
    assert skus and skus <= {"Standard_GRS", "Standard_GZRS", "Standard_RAGRS", "Standard_RAGZRS"}, skus
    # Object replication to another account (possibly elsewhere) is not configured.
    assert not resources(d, "Microsoft.Storage/storageAccounts/objectReplicationPolicies")


def test_the_paired_location_is_the_other_uk_region():
    d = doc("modules/resources.bicep")
    paired = d["variables"]["pairedLocation"]["value"]
    assert {v for v in leaves(paired) if isinstance(v, str)} <= UK_REGIONS | {"location"}


def _policy_assignments():
    d = doc("main.bicep")
    found = {}
    for name, res in resources(d, "Microsoft.Authorization/policyAssignments").items():
        props = config(res)["properties"]
        found[resolve(d, props["policyDefinitionId"])] = resolve(
            d, props["parameters"]["listOfAllowedLocations"]["value"]
        )
        assert props.get("enforcementMode", "Default") == "Default", f"{name} is not enforced"
    return found


def test_policy_assignments_restrict_resources_and_resource_groups_to_the_uk():
    found = _policy_assignments()
    assert set(found) == {ALLOWED_LOCATIONS, ALLOWED_RG_LOCATIONS}
    for definition, allowed in found.items():
        assert sorted(allowed) == ["uksouth", "ukwest"], f"{definition} allows {allowed}"


def test_no_region_outside_the_uk_is_named_anywhere_in_the_infrastructure():
    offenders = []
    for path in _infra_text_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in NON_UK_PATTERN.finditer(line):
                offenders.append(f"{path.relative_to(REPO)}:{lineno}: {match.group(0)}")
    assert not offenders, "non-UK regions named:\n" + "\n".join(offenders)


def test_the_region_scan_would_catch_a_non_uk_region():
    assert NON_UK_PATTERN.search("location: 'westeurope'")
    assert NON_UK_PATTERN.search("locationName: 'North Europe'")
    assert not NON_UK_PATTERN.search("location: 'uksouth' // UK South, UK West")


def test_deployment_defaults_are_in_the_uk():
    params = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert params["location"]["value"] == "${AZURE_LOCATION=uksouth}"
    assert doc("main.bicep")["parameters"]["location"]["default"] == "uksouth"
    deploy = (REPO / "scripts" / "deploy.sh").read_text(encoding="utf-8")
    assert re.search(r'AZURE_LOCATION:-uksouth', deploy)
    assert "uksouth|ukwest) ;;" in deploy  # anything else is refused before az is called
