"""GraphMailSender through msal, requests and real TLS against the Graph double; the Key Vault
secret provider through the real azure-keyvault-secrets SDK against a small HTTPS double."""
from __future__ import annotations

import time

import pytest

from shared_code.adapters.azure.graph_mail import (
    CachedSecret, GraphMailError, GraphMailSender, keyvault_secret_provider,
)
from shared_code.notifications import contract as k
from shared_code.notifications.dispatcher import SENT_PARTITION, NotificationDispatcher
from shared_code.notifications.pump import pump_notifications
from shared_code.ports.mail import Email, PermanentMailError, TransientMailError
from shared_code.settings import DIRECTORY, NOTIFICATIONS_QUEUE
from tests.doubles.graph import GraphDouble
from tests.doubles.keyvault import StaticTokenCredential
from tests.doubles.tls import HttpRequest, HttpResponse, HttpsServer
from tests.notifications import helpers
from tests.support import steps

EMAIL = Email(to="patient@example.org", subject="You have a new comment", text="Hello",
              html="<p>Hello</p>", dedupe_key="evt_1")


@pytest.fixture
def graph(tmp_path):
    with GraphDouble() as double:
        yield double


def sender_for(graph: GraphDouble, secret_provider=None, **kwargs) -> GraphMailSender:
    return GraphMailSender(graph.tenant, graph.client_id, graph.sender, secret_provider or (lambda: graph.secret),
                           authority_host=graph.url, graph_base=graph.graph_base, verify=graph.ca_bundle_path,
                           timeout=5, **kwargs)


def test_202_sends_the_html_body_without_a_sent_items_copy(graph):
    sender_for(graph).send(EMAIL)
    [sent] = graph.sent
    assert sent == {"sender": graph.sender, "to": ["patient@example.org"], "subject": "You have a new comment",
                    "contentType": "HTML", "content": "<p>Hello</p>", "saveToSentItems": False}
    [token_request] = graph.token_requests
    assert token_request["grant_type"] == "client_credentials"
    assert token_request["scope"] == "https://graph.microsoft.com/.default"
    assert token_request["client_id"] == graph.client_id


def test_the_token_is_cached_across_sends(graph):
    sender = sender_for(graph)
    for _ in range(3):
        sender.send(EMAIL)
    assert len(graph.sent) == 3
    assert len(graph.token_requests) == 1


def test_429_is_transient_with_retry_after(graph):
    sender = sender_for(graph)
    graph.fail_next(429, code="ApplicationThrottled", headers={"Retry-After": "7"})
    with pytest.raises(TransientMailError) as raised:
        sender.send(EMAIL)
    assert raised.value.retry_after == 7
    sender.send(EMAIL)
    assert len(graph.sent) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(graph, status):
    graph.fail_next(status)
    with pytest.raises(TransientMailError):
        sender_for(graph).send(EMAIL)


@pytest.mark.parametrize("status,code", [(400, "ErrorInvalidRecipients"), (403, "ErrorAccessDenied"),
                                         (413, "ErrorMessageSizeExceeded")])
def test_other_4xx_is_permanent(graph, status, code):
    graph.fail_next(status, code=code)
    with pytest.raises(PermanentMailError) as raised:
        sender_for(graph).send(EMAIL)
    assert isinstance(raised.value, GraphMailError) and raised.value.code == code
    assert "patient@example.org" not in str(raised.value)


def test_an_unknown_sender_mailbox_is_permanent(graph):
    sender = GraphMailSender(graph.tenant, graph.client_id, "nobody@telederm.example", lambda: graph.secret,
                             authority_host=graph.url, graph_base=graph.graph_base, verify=graph.ca_bundle_path)
    with pytest.raises(PermanentMailError):
        sender.send(EMAIL)


def test_a_token_graph_refuses_is_replaced_on_the_next_send(graph):
    sender = sender_for(graph)
    sender.send(EMAIL)
    graph.revoke_tokens()
    with pytest.raises(TransientMailError):
        sender.send(EMAIL)
    sender.send(EMAIL)
    assert len(graph.sent) == 2 and len(graph.token_requests) == 2


def test_token_endpoint_failures_are_transient(graph):
    sender = sender_for(graph)
    graph.fail_token_next(503)
    with pytest.raises(TransientMailError):
        sender.send(EMAIL)
    assert graph.sent == []


def test_a_wrong_secret_is_transient_and_rereads_the_vault(graph):
    """invalid_client is our configuration, not the message: retried (then poisoned, requeued once
    fixed), and the cached secret is dropped so a rotation in Key Vault takes effect."""
    values = iter(["rotated-away", graph.secret])
    fetches = []

    def fetch():
        fetches.append(1)
        return next(values)

    sender = sender_for(graph, CachedSecret(fetch))
    with pytest.raises(TransientMailError) as raised:
        sender.send(EMAIL)
    assert "invalid_client" in str(raised.value) and "rotated-away" not in str(raised.value)
    sender.send(EMAIL)
    assert len(fetches) == 2 and len(graph.sent) == 1


def test_an_unreachable_graph_is_transient(graph):
    sender = sender_for(graph)
    sender.send(EMAIL)
    graph.server.stop()
    with pytest.raises(TransientMailError):
        sender.send(EMAIL)


def test_construction_touches_no_network():
    GraphMailSender("t", "c", "s@example.org", lambda: pytest.fail("read the secret"),
                    authority_host="https://127.0.0.1:9", graph_base="https://127.0.0.1:9/v1.0")


def test_5xx_then_success_through_queue_redelivery_sends_once(api, family, clock, graph):
    api.container.notifications = NotificationDispatcher(family.documents, sender_for(graph), api.container.settings,
                                                         clock)
    data, source, doc = helpers.events()[k.COMMENT_CREATED]
    api.container.outbox.emit(k.COMMENT_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    graph.fail_next(503)
    first = pump_notifications(api.container, visibility_timeout=1)
    assert (first.handled, first.failed) == (0, 1) and graph.sent == []
    time.sleep(1.5)
    second = pump_notifications(api.container, visibility_timeout=1)
    assert (second.handled, second.failed) == (1, 0)
    assert [s["to"] for s in graph.sent] == [[helpers.PATIENT_EMAIL]]
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []


def test_permanent_4xx_through_the_dispatcher_is_recorded_and_acknowledged(api, family, clock, graph):
    api.container.notifications = NotificationDispatcher(family.documents, sender_for(graph), api.container.settings,
                                                         clock)
    data, source, doc = helpers.events()[k.SHARE_CREATED]
    api.container.outbox.emit(k.SHARE_CREATED, data, source, steps.event_writer(family.documents, source, doc))
    key = steps.queued(family.queue)[0]["dedupeKey"]
    graph.fail_next(400, code="ErrorInvalidRecipients")
    assert pump_notifications(api.container).handled == 1
    assert family.queue.peek(NOTIFICATIONS_QUEUE) == []
    assert family.documents.read(DIRECTORY, SENT_PARTITION, key).doc["status"] == "failed"
    assert graph.sent == []


# --- the client secret from Key Vault ---
class SecretsDouble:
    """Just enough of the Key Vault secrets data plane: the challenge, then GET /secrets/{name}/."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.reads = 0
        self.server = HttpsServer(self.handle)

    def handle(self, request: HttpRequest) -> HttpResponse:
        if not (request.headers.get("Authorization") or "").startswith("Bearer "):
            challenge = ('Bearer authorization="https://login.microsoftonline.com/tenant", '
                         'resource="https://vault.azure.net"')
            return HttpResponse.json(401, {"error": {"code": "Unauthorized", "message": "AKV10000"}},
                                     {"WWW-Authenticate": challenge})
        parts = request.path.strip("/").split("/")
        if request.method == "GET" and parts[0] == "secrets" and parts[1] in self.secrets:
            self.reads += 1
            return HttpResponse.json(200, {"value": self.secrets[parts[1]],
                                           "id": f"{self.server.url}/secrets/{parts[1]}/v1",
                                           "attributes": {"enabled": True, "created": 1, "updated": 1}})
        return HttpResponse.json(404, {"error": {"code": "SecretNotFound", "message": "not found"}})


def test_keyvault_secret_provider_reads_once_per_hour_through_the_sdk():
    double = SecretsDouble({"graph-client-secret": "s3cret"})
    with double.server:
        provider = keyvault_secret_provider(double.server.url, "graph-client-secret", StaticTokenCredential(),
                                            connection_verify=double.server.ca_bundle_path,
                                            verify_challenge_resource=False)
        assert provider() == "s3cret" and provider() == "s3cret"
        assert double.reads == 1
        double.secrets["graph-client-secret"] = "rotated"
        provider.invalidate()
        assert provider() == "rotated" and double.reads == 2


def test_cached_secret_expires():
    now = [0.0]
    values = iter(["one", "two"])
    secret = CachedSecret(lambda: next(values), ttl_seconds=3600, clock=lambda: now[0])
    assert secret() == "one"
    now[0] = 3599
    assert secret() == "one"
    now[0] = 3600
    assert secret() == "two"


def test_the_azure_factory_wires_graph_with_the_vault_secret(tmp_path):
    from shared_code.adapters.factory import build_mail
    from shared_code.settings import Settings

    settings = Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path), MAIL_SENDER="graph", GRAPH_TENANT_ID="t",
                        GRAPH_CLIENT_ID="c", GRAPH_SENDER_ADDRESS="noreply@telederm.example",
                        KEY_VAULT_URI="https://vault.example", GRAPH_SECRET_NAME="graph-client-secret")
    mail = build_mail(settings, credential=StaticTokenCredential())
    assert isinstance(mail, GraphMailSender)
    assert mail._send_url == "https://graph.microsoft.com/v1.0/users/noreply@telederm.example/sendMail"
    with pytest.raises(ValueError):
        build_mail(Settings(APP_MODE="local", LOCAL_DATA_DIR=str(tmp_path), MAIL_SENDER="graph"))
