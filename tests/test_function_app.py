"""What the Functions host indexes from function_app.py, and that importing it is cheap and offline."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _functions():
    from tests.support.indexed import indexed_functions

    return indexed_functions()


def test_the_host_indexes_one_asgi_http_function_and_the_trigger_blueprints():
    functions = _functions()
    [http] = [b for b in functions["http_app_func"] if b["type"] == "httpTrigger"]
    assert http["route"] == "/{*route}" and str(http["authLevel"]).lower().endswith("anonymous")
    [blob] = functions["process_incoming_upload"]
    assert blob["type"] == "blobTrigger" and blob["path"] == "incoming/{name}"
    assert blob["connection"] == "AzureWebJobsStorage" and str(blob["source"]) in ("EventGrid", "BlobSource.EVENT_GRID")
    for timer in ("redrive_uploads", "sweep_incoming", "sweep_leftovers"):
        assert functions[timer][0]["type"] == "timerTrigger"


def test_the_upload_trigger_binds_the_blobs_name_never_its_content():
    """With `func.InputStream` the host reads the whole blob into memory before the function runs;
    an SDK-type parameter makes it send the blob's model binding data (container and name) instead."""
    import inspect
    import json
    from types import SimpleNamespace

    from azurefunctions.extensions.base import Datum, get_binding_registry

    from functions.ingest_bp import IncomingBlob, process_incoming_upload

    assert _functions()["process_incoming_upload"][0]["type"] == "blobTrigger"
    # What the worker inspects: the user function behind the Blueprint's builder.
    parameter = inspect.signature(process_incoming_upload._function.get_user_function()).parameters["blob"]
    registry = get_binding_registry()
    assert registry.check_supported_type(parameter.annotation)  # deferred binding: no content sent
    data = SimpleNamespace(content=json.dumps({"Connection": "AzureWebJobsStorage", "ContainerName": "incoming",
                                               "BlobName": "p_1/i_2"}), version="1.0", source="AzureStorageBlobs",
                           content_type="application/json")
    bound = registry.get("blobTrigger").decode(Datum(data, "model_binding_data"), trigger_metadata={},
                                               pytype=parameter.annotation)
    assert isinstance(bound, IncomingBlob) and (bound.container, bound.name) == ("incoming", "p_1/i_2")


def test_host_json_makes_the_apps_own_paths_public():
    import json

    host = json.loads((REPO / "host.json").read_text())
    assert host["extensions"]["http"]["routePrefix"] == ""


def test_import_builds_no_client_and_touches_no_network():
    code = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('network at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import function_app\n"
        "heavy = [m for m in ('azure.storage.blob', 'azure.cosmos', 'azure.storage.queue', 'azure.keyvault.keys',"
        " 'azure.identity', 'msal', 'PIL', 'fhir.resources') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "APP_MODE": "azure"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
