"""Alerts in Bicep (issue 14, point 5): an action group that e-mails a mailbox given at deployment,
and log search alerts for the notifications poison queue, the HTTP 5xx rate, Key Vault 429s and
every timer that has not run for twice its period. All rules are in the UK region and route to the
action group."""
from __future__ import annotations

import ast
import json
import re
from datetime import timedelta

import pytest

from shared_code import settings as s
from tests.infra.bicep import INFRA, REPO, UK_REGIONS, Param, config, decorators, doc, one, resolve, resources

ALERTS = "modules/alerts.bicep"
RULE = "Microsoft.Insights/scheduledQueryRules"
MAX_LOOKBACK = timedelta(days=2)  # the longest time range a log search alert can query
MIN_TIMER_WINDOW = timedelta(minutes=15)  # Application Insights ingestion delay


def _d():
    return doc(ALERTS)


def _rules() -> dict[str, dict]:
    return resources(_d(), RULE)


def _duration(iso: str) -> timedelta:
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?", iso)
    assert match and iso not in ("P", "PT"), iso
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _query(rule_body: dict) -> tuple[str, list]:
    """(format string, arguments) of a rule's one criterion."""
    [criterion] = rule_body["properties"]["criteria"]["allOf"]
    fn = criterion["query"]["function"]
    assert fn["type"] == "format"
    params = list(fn["parameters"].values())
    return resolve(_d(), params[0]), params[1:]


# --- The action group ---

def test_the_action_group_emails_the_mailbox_given_at_deployment():
    d = _d()
    group = config(one(d, "Microsoft.Insights/actionGroups"))
    [receiver] = group["properties"]["emailReceivers"]
    assert resolve(d, receiver["emailAddress"]) == Param("alertEmailAddress")
    assert receiver["useCommonAlertSchema"] is True
    assert group["properties"]["enabled"] is True
    assert len(group["properties"]["groupShortName"]) <= 12

    main = doc("main.bicep")
    assert main["parameters"]["alertEmailAddress"].get("default") is None  # required
    assert main["modules"]["resources"]["config"]["params"]["alertEmailAddress"] == "alertEmailAddress"
    assert doc("modules/resources.bicep")["modules"]["alerts"]["config"]["params"]["alertEmailAddress"] == "alertEmailAddress"
    values = json.loads((INFRA / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    assert values["alertEmailAddress"]["value"] == "${ALERT_EMAIL_ADDRESS}"  # required: no default


def test_every_rule_is_a_uk_log_alert_that_routes_to_the_action_group():
    d = _d()
    rules = _rules()
    assert len(rules) >= 4
    for name, res in rules.items():
        body = config(res)
        assert body["kind"] == "LogAlert", name
        loc = resolve(d, body["location"])
        assert loc == Param("location") and sorted(decorators(d["parameters"]["location"])["allowed"]) == sorted(UK_REGIONS)
        props = body["properties"]
        assert props["enabled"] is True, name
        assert props["actions"]["actionGroups"] == [{"operator": {"type": "property_accessor", "operands": {"operand_1": "actionGroup", "operand_2": "id"}}}], name
        assert props["autoMitigate"] is True, name
        if isinstance(props["windowSize"], str):  # the timer rules' windows are checked below
            assert _duration(props["windowSize"]) <= MAX_LOOKBACK, name
            assert _duration(props["evaluationFrequency"]) <= _duration(props["windowSize"]), name
    # Metric alert rules would be 'global' resources: none.
    assert not resources(d, "Microsoft.Insights/metricAlerts")


def test_the_alerts_module_is_deployed_with_the_uk_workspace_and_application_insights():
    params = doc("modules/resources.bicep")["modules"]["alerts"]["config"]["params"]
    assert params["location"] == "location"
    assert "monitoring" in json.dumps(params["logAnalyticsWorkspaceId"])
    assert "applicationInsightsId" in json.dumps(params["applicationInsightsId"])
    assert "notificationsPoisonQueueName" in json.dumps(params["notificationsPoisonQueueName"])


# --- Poison queue ---

def test_a_message_put_into_the_poison_queue_raises_an_alert():
    body = config(_rules()["poisonQueueAlert"])
    query, args = _query(body)
    assert query.lstrip().startswith("StorageQueueLogs")  # per queue, unlike the account-level metric
    assert 'OperationName == "PutMessage"' in query
    assert '"/{1}/messages"' in query and args == ["storageAccountName", "notificationsPoisonQueueName"]
    [criterion] = body["properties"]["criteria"]["allOf"]
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert body["properties"]["scopes"] == ["logAnalyticsWorkspaceId"]
    assert doc("modules/storage.bicep")["variables"]["notificationsPoisonQueueName"]["value"] == s.NOTIFICATIONS_POISON_QUEUE
    # The queue's resource logs (StorageWrite) do go to the workspace.
    settings = [config(r)["properties"] for r in resources(doc("modules/storage.bicep"), "Microsoft.Insights/diagnosticSettings").values()
                if config(r)["scope"] == "queueService"]
    assert settings and {"StorageWrite"} <= {log["category"] for log in settings[0]["logs"]}


def test_a_decision_support_job_put_into_its_poison_queue_raises_an_alert():
    body = config(_rules()["decisionSupportPoisonAlert"])
    query, args = _query(body)
    assert 'OperationName == "PutMessage"' in query and '"/{1}/messages"' in query
    assert args == ["storageAccountName", "decisionSupportPoisonQueueName"]
    [criterion] = body["properties"]["criteria"]["allOf"]
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    passed = doc("modules/resources.bicep")["modules"]["alerts"]["config"]["params"]["decisionSupportPoisonQueueName"]
    assert "decisionSupportPoisonQueueName" in str(passed)
    storage = doc("modules/storage.bicep")["variables"]["decisionSupportPoisonQueueName"]["value"]
    assert storage == s.DECISION_SUPPORT_POISON_QUEUE


# --- HTTP 5xx ---

def test_the_http_5xx_rate_raises_an_alert():
    d = _d()
    body = config(_rules()["http5xxAlert"])
    query, args = _query(body)
    assert query.lstrip().startswith("requests")
    assert "toint(resultCode) >= 500" in query and "isnotempty(url)" in query
    assert args == ["http5xxMinimumRequests"]
    [criterion] = body["properties"]["criteria"]["allOf"]
    assert criterion["metricMeasureColumn"] == "failedPercent" and f"project {criterion['metricMeasureColumn']}" in query
    assert criterion["operator"] == "GreaterThan"
    assert resolve(d, criterion["threshold"]) == Param("http5xxPercentThreshold")
    assert body["properties"]["scopes"] == ["applicationInsightsId"]


# --- Key Vault 429 ---

def test_key_vault_throttling_raises_an_alert():
    body = config(_rules()["keyVaultThrottleAlert"])
    query, args = _query(body)
    assert query.lstrip().startswith("AzureDiagnostics")
    assert "httpStatusCode_d == 429" in query and 'Category == "AuditEvent"' in query
    assert args == ["keyVaultName"]
    assert body["properties"]["scopes"] == ["logAnalyticsWorkspaceId"]
    # The vault's AuditEvent log goes to that workspace.
    kv = doc("modules/keyvault.bicep")
    [diag] = [config(r)["properties"] for r in resources(kv, "Microsoft.Insights/diagnosticSettings").values()]
    assert {"AuditEvent"} <= {log["category"] for log in diag["logs"]}
    assert "logAnalyticsDestinationType" not in diag  # AzureDiagnostics, the table the query reads


# --- Timers ---

def _ncrontab_period(schedule: str) -> timedelta:
    """The period of the simple NCRONTAB schedules used here (six fields, seconds first)."""
    second, minute, hour, day, month, weekday = schedule.split()
    assert second.isdigit(), schedule
    if (day, month, weekday) != ("*", "*", "*"):
        pytest.fail(f"unsupported schedule {schedule!r}: teach this test its period")
    if minute.startswith("*/") and hour == "*":
        return timedelta(minutes=int(minute[2:]))
    if minute.isdigit() and hour == "*":
        return timedelta(hours=1)
    if minute.isdigit() and hour.startswith("*/"):
        return timedelta(hours=int(hour[2:]))
    if minute.isdigit() and hour.isdigit():
        return timedelta(days=1)
    pytest.fail(f"unsupported schedule {schedule!r}: teach this test its period")


def _timers_in_code() -> dict[str, timedelta]:
    """Every timer trigger in functions/, by the name the host reports (function_name or def)."""
    found = {}
    for path in sorted((REPO / "functions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            name, schedule = node.name, None
            for deco in node.decorator_list:
                if not isinstance(deco, ast.Call) or not isinstance(deco.func, ast.Attribute):
                    continue
                if deco.func.attr == "function_name":
                    name = ast.literal_eval(deco.args[0])
                if deco.func.attr == "timer_trigger":
                    schedule = next(ast.literal_eval(k.value) for k in deco.keywords if k.arg == "schedule")
            if schedule is not None:
                found[name] = _ncrontab_period(schedule)
    return found


def test_every_timer_in_the_code_has_an_alert_and_no_alert_watches_a_missing_timer():
    in_code = _timers_in_code()
    assert len(in_code) >= 5, in_code
    listed = {t["name"]: t for t in _d()["variables"]["timers"]["value"]}
    assert set(listed) == set(in_code)
    for name, timer in listed.items():
        assert timedelta(minutes=timer["periodMinutes"]) == in_code[name], name


def test_a_timer_alert_fires_when_no_successful_run_in_twice_its_period():
    d = _d()
    for timer in d["variables"]["timers"]["value"]:
        period = timedelta(minutes=timer["periodMinutes"])
        window = _duration(timer["windowSize"])
        frequency = _duration(timer["evaluationFrequency"])
        # At least twice the period (and the ingestion delay), at most what an alert can look back.
        assert window >= 2 * period, timer
        assert MIN_TIMER_WINDOW <= window <= MAX_LOOKBACK, timer
        assert window <= max(2 * period, MIN_TIMER_WINDOW), f"{timer['name']}: alerts later than twice its period"
        assert frequency <= window, timer

    loop = _rules()["timerAlerts"]["config"]
    assert loop["loop_type"]["detail"]["array_name"] == "timers"
    body = loop["config"]
    item = loop["loop_type"]["detail"]["item_name"]
    query, args = _query(body)
    assert query.lstrip().startswith("requests") and 'name == "{0}"' in query and "success == true" in query
    assert args == [{"operator": {"type": "property_accessor", "operands": {"operand_1": item, "operand_2": "name"}}}]
    [criterion] = body["properties"]["criteria"]["allOf"]
    assert (criterion["metricMeasureColumn"], criterion["operator"], criterion["threshold"]) == ("runs", "LessThan", 1)
    assert body["properties"]["scopes"] == ["applicationInsightsId"]
    assert body["properties"]["windowSize"] == {"operator": {"type": "property_accessor", "operands": {"operand_1": item, "operand_2": "windowSize"}}}


# --- Application Insights, which the 5xx and timer rules read ---

def test_application_insights_is_workspace_based_keyless_and_fed_by_the_managed_identity():
    d = doc("modules/monitoring.bicep")
    ai = config(one(d, "Microsoft.Insights/components"))
    assert resolve(d, ai["location"]) == Param("location")
    assert ai["properties"]["DisableLocalAuth"] is True
    assert ai["properties"]["WorkspaceResourceId"] == {"operator": {"type": "property_accessor", "operands": {"operand_1": "logAnalytics", "operand_2": "id"}}}
    app = config(one(doc("modules/functionapp.bicep"), "Microsoft.Web/sites/config"))["properties"]
    assert app["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD;ClientId=${identityClientId}"
