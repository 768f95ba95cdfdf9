"""(b) Storage, queues, Event Grid and Cosmos DB: the names agree with shared_code/settings.py and
the data-protection settings (lifecycle, versioning, soft delete, backup) are on."""
from __future__ import annotations

from shared_code import settings as s
from tests.infra.bicep import REPO, config, doc, one, resolve, resources

STORAGE = "modules/storage.bicep"
COSMOS = "modules/cosmos.bicep"


def _names(d, type_):
    return {resolve(d, config(res)["name"]) for res in resources(d, type_).values()}


def test_blob_containers_agree_with_the_code():
    d = doc(STORAGE)
    names = _names(d, "Microsoft.Storage/storageAccounts/blobServices/containers")
    assert {s.IMAGES_CONTAINER, s.INCOMING_CONTAINER} <= names
    assert "deployments" in names  # Flex Consumption code packages
    site = config(one(doc("modules/functionapp.bicep"), "Microsoft.Web/sites"))
    assert site["properties"]["functionAppConfig"]["deployment"]["storage"]["value"] == (
        "${storageBlobEndpoint}${deploymentContainerName}"
    )


def test_queues_agree_with_the_code():
    d = doc(STORAGE)
    names = _names(d, "Microsoft.Storage/storageAccounts/queueServices/queues")
    assert names == {s.NOTIFICATIONS_QUEUE, s.NOTIFICATIONS_POISON_QUEUE, s.DECISION_SUPPORT_QUEUE,
                     s.DECISION_SUPPORT_POISON_QUEUE}


def test_incoming_uploads_are_deleted_after_one_day():
    d = doc(STORAGE)
    policy = config(one(d, "Microsoft.Storage/storageAccounts/managementPolicies"))
    rules = policy["properties"]["policy"]["rules"]
    [rule] = [r for r in rules if r["name"] == "delete-incoming-after-1-day"]
    assert rule["enabled"] is True
    definition = rule["definition"]
    assert definition["filters"]["prefixMatch"] == ["${incomingContainerName}/"]
    assert d["variables"]["incomingContainerName"]["value"] == s.INCOMING_CONTAINER
    actions = definition["actions"]
    assert actions["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == 1
    assert actions["version"]["delete"]["daysAfterCreationGreaterThan"] == 1
    assert actions["snapshot"]["delete"]["daysAfterCreationGreaterThan"] == 1


def test_blob_versioning_and_soft_delete_are_on():
    d = doc(STORAGE)
    props = config(one(d, "Microsoft.Storage/storageAccounts/blobServices"))["properties"]
    assert props["isVersioningEnabled"] is True
    assert props["deleteRetentionPolicy"]["enabled"] is True
    assert props["containerDeleteRetentionPolicy"]["enabled"] is True
    assert props["changeFeed"]["enabled"] is True and props["restorePolicy"]["enabled"] is True
    assert d["parameters"]["softDeleteRetentionInDays"]["default"] >= 7


def test_event_grid_system_topic_on_the_storage_account_and_the_subscription_only_after_code_deploy():
    d = doc(STORAGE)
    topic = config(one(d, "Microsoft.EventGrid/systemTopics"))
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"
    assert topic["properties"]["source"]["operator"]["operands"] == {"operand_1": "storage", "operand_2": "id"}
    # The subscription needs the blobs_extension key, which exists only after code deploy: it is
    # infra/upload-trigger.bicep, a deployment of its own (scripts/deploy.sh post-deploy), never a
    # module of main.bicep (tests/infra/test_upload_trigger.py checks its filters).
    holders = {
        str(path.relative_to(REPO / "infra"))
        for path in (REPO / "infra").rglob("*.bicep")
        if "eventSubscriptions" in path.read_text(encoding="utf-8")
    }
    assert holders == {"upload-trigger.bicep"}


def test_cosmos_database_and_containers_agree_with_the_code():
    d = doc(COSMOS)
    assert d["variables"]["databaseName"]["value"] == "telederm"
    assert tuple(d["variables"]["documentContainerNames"]["value"]) == s.DOCUMENT_CONTAINERS
    assert d["variables"]["partitionKeyPath"]["value"] == s.PARTITION_KEY_PATH
    loop = one(d, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")["config"]
    assert loop["loop_type"]["detail"]["array_name"] == "documentContainerNames"
    body = loop["config"]
    assert body["name"] == loop["loop_type"]["detail"]["item_name"]
    assert [resolve(d, p) for p in body["properties"]["resource"]["partitionKey"]["paths"]] == [s.PARTITION_KEY_PATH]
    # TTL on without a default, so the notification dedupe records (which carry `ttl`) expire.
    assert body["properties"]["resource"]["defaultTtl"] == {"operator": {"type": "minus", "operands": {"integer_value": 1}}}


def test_cosmos_has_continuous_backup_and_automatic_failover():
    props = config(one(doc(COSMOS), "Microsoft.DocumentDB/databaseAccounts"))["properties"]
    assert props["backupPolicy"]["type"] == "Continuous"
    assert props["backupPolicy"]["continuousModeProperties"]["tier"] in {"Continuous7Days", "Continuous30Days"}
    assert props["enableAutomaticFailover"] is True


def test_cosmos_data_contributor_for_the_identity():
    d = doc(COSMOS)
    assignment = config(one(d, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments"))
    assert resolve(d, "dataContributorRoleDefinitionId") == "00000000-0000-0000-0000-000000000002"
    assert assignment["properties"]["roleDefinitionId"] == (
        "${account.id}/sqlRoleDefinitions/${dataContributorRoleDefinitionId}"
    )
    assert assignment["properties"]["principalId"] == "principalId"
    assert assignment["name"]["function"]["type"] == "guid"


def test_audit_logs_go_to_log_analytics():
    for file in (STORAGE, COSMOS, "modules/keyvault.bicep"):
        d = doc(file)
        settings = resources(d, "Microsoft.Insights/diagnosticSettings")
        assert settings, file
        for res in settings.values():
            props = config(res)["properties"]
            assert props["workspaceId"] == "logAnalyticsWorkspaceId"
            assert all(log["enabled"] is True for log in props["logs"])
