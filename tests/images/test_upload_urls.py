"""The upload URL as a client uses it, on both families: locally the local app's signed URL; on the
Azure family a real user-delegation SAS from Azurite, PUT to over HTTPS, then the Event Grid blob
trigger's handler (the function Azure runs) processes the blob."""
import os
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import httpx

from functions.ingest_bp import IncomingBlob, process_incoming_upload
from tests.images.photos import phone_jpeg
from tests.support import steps


def _put(api, family, url, data):
    if family.name == "local":
        return api.client.put(urlsplit(url).path, content=data).status_code
    with httpx.Client(verify=os.environ["TEST_AZURITE_CA"]) as client:
        return client.put(url, content=data, headers={"x-ms-blob-type": "BlockBlob"}).status_code


def test_upload_url_then_trigger_makes_the_image_ready(family, tmp_path, monkeypatch):
    from functions import runtime
    from tests.support.app import make_api

    api = make_api(family, tmp_path / "data", sas_uploads=True)
    monkeypatch.setattr(runtime, "get_container", lambda: api.container)
    monkeypatch.setattr("functions.ingest_bp.get_container", lambda: api.container)
    headers = api.patient()
    folder = steps.folder(api, headers, "rash")
    ticket = steps.upload_ticket(api, headers, folder, {})
    expires = datetime.fromisoformat(ticket["expiresAt"].replace("Z", "+00:00"))
    assert 0 < (expires - datetime.now(timezone.utc)).total_seconds() <= 15 * 60
    assert _put(api, family, ticket["uploadUrl"], phone_jpeg()) == 201
    pid = steps.patient_id(api, headers)
    blob_name = f"{pid}/{ticket['imageId']}"
    # The Event Grid blob trigger fires (twice: duplicates are normal); locally it already ran.
    process_incoming_upload(IncomingBlob(container="incoming", name=blob_name))
    process_incoming_upload(IncomingBlob(container="incoming", name=blob_name))
    image = api.client.get(f"/api/images/{ticket['imageId']}", headers=headers).json()
    assert image["status"] == "ready"
    assert api.client.get(f"/api/folders/{folder}", headers=headers).json()["imageCount"] == 1
    assert list(api.container.adapters.blobs.list("incoming", f"{pid}/")) == []  # deleted after processing


def test_azure_upload_url_is_a_write_only_user_delegation_sas_for_one_blob(azure_clients, tmp_path):
    from tests.support.app import make_api
    from tests.support.backends import azure_family

    # Azure only: the local URL's rules are tested in test_upload_and_read.py.
    api = make_api(azure_family(azure_clients), tmp_path / "data", sas_uploads=True)
    headers = api.patient()
    url = steps.upload_ticket(api, headers, steps.folder(api, headers, "rash"))["uploadUrl"]
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["cw"] and "skoid" in query  # create/write only; signed by a delegation key
    assert urlsplit(url).path.split("/")[2] == "incoming"
    with httpx.Client(verify=os.environ["TEST_AZURITE_CA"]) as client:
        assert client.get(url).status_code == 403  # cannot read
        other = url.replace(urlsplit(url).path, urlsplit(url).path + "x")
        assert client.put(other, content=b"x", headers={"x-ms-blob-type": "BlockBlob"}).status_code == 403
