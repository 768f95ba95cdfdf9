"""The Event Grid subscription of the upload blob trigger (infra/upload-trigger.bicep): only
BlobCreated events of the `incoming` container, only for operations that commit a whole blob
(data.api), delivered to the blob extension's webhook for process_incoming_upload."""
from __future__ import annotations

from shared_code import settings as s
from tests.infra.bicep import REPO, Param, config, decorators, doc, one, resolve

TEMPLATE = "upload-trigger.bicep"
COMMITTING_APIS = {"PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose"}


def _subscription():
    d = doc(TEMPLATE)
    return d, config(one(d, "Microsoft.EventGrid/systemTopics/eventSubscriptions"))


def test_only_blob_created_events_under_the_incoming_container():
    d, sub = _subscription()
    flt = sub["properties"]["filter"]
    assert flt["includedEventTypes"] == ["Microsoft.Storage.BlobCreated"]
    assert flt["subjectBeginsWith"] == "/blobServices/default/containers/${incomingContainerName}/blobs/"
    assert d["parameters"]["incomingContainerName"]["default"] == s.INCOMING_CONTAINER


def test_only_operations_that_commit_a_whole_blob_reach_the_function():
    d, sub = _subscription()
    [api_filter] = [f for f in sub["properties"]["filter"]["advancedFilters"] if f["key"] == "data.api"]
    assert api_filter["operatorType"] == "StringIn"
    values = resolve(d, api_filter["values"])
    assert set(values) == COMMITTING_APIS and len(values) == len(COMMITTING_APIS)


def test_events_go_to_the_blob_extension_webhook_of_process_incoming_upload():
    d, sub = _subscription()
    destination = sub["properties"]["destination"]
    assert destination["endpointType"] == "WebHook"
    assert destination["properties"]["endpointUrl"] == (
        "https://${functionAppHostName}/runtime/webhooks/blobs"
        "?functionName=Host.Functions.${functionName}&code=${blobsExtensionKey}"
    )
    assert resolve(d, "functionName") == "process_incoming_upload"
    assert (REPO / "functions" / "ingest_bp.py").read_text(encoding="utf-8").count('"process_incoming_upload"') >= 1
    assert sub["properties"]["eventDeliverySchema"] == "EventGridSchema"


def test_the_webhook_key_is_a_secure_parameter_without_default():
    d, _ = _subscription()
    key = d["parameters"]["blobsExtensionKey"]
    assert "secure" in decorators(key)
    assert key.get("default") in (None, "")


def test_the_subscription_is_on_the_storage_system_topic_and_not_part_of_main():
    d, sub = _subscription()
    topic = one(d, "Microsoft.EventGrid/systemTopics")
    assert topic["existing"] is True
    assert resolve(d, config(topic)["name"]) == Param("systemTopicName")
    assert sub["parent"] == "systemTopic"
    # main.bicep provisions before the code exists: the subscription must not be one of its modules.
    for file in ("main.bicep", "modules/resources.bicep"):
        for module in (doc(file).get("modules") or {}).values():
            assert TEMPLATE not in module["detail"]["path"], file


def test_deploy_script_deploys_this_template_after_publishing():
    script = (REPO / "scripts" / "deploy.sh").read_text(encoding="utf-8")
    assert f'UPLOAD_TRIGGER_TEMPLATE="infra/{TEMPLATE}"' in script
    assert "az eventgrid system-topic event-subscription create" not in script
