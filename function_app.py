"""Azure Functions entry point: wiring only.

The HTTP API is one ASGI app (FastAPI) behind `AsgiFunctionApp`; host.json sets `routePrefix` to ""
so the app's own `/api/...` paths are the public ones. Non-HTTP triggers are Blueprints from
`functions/`, registered on the same app. Nothing here touches the network or builds a client."""
import azure.functions as func

from functions import decision_support_bp, ingest_bp, notifications_bp, schedules_bp
from functions.http_app import create_api

app = func.AsgiFunctionApp(app=create_api(), http_auth_level=func.AuthLevel.ANONYMOUS)
app.register_functions(ingest_bp.bp)
app.register_functions(notifications_bp.bp)
app.register_functions(schedules_bp.bp)
app.register_functions(decision_support_bp.bp)
