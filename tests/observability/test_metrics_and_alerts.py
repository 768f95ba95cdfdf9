"""The metrics the alerts read (issue 14, points 3 and 5): the overdue-referrals alert counts the
metric the referral timer records, under the name and label the code uses."""
from __future__ import annotations

from types import SimpleNamespace

from functions.schedules_bp import referral_timers_job
from tests.infra.bicep import config, doc, resolve, resources


class _Timers:
    def run(self):
        return {"dueToday": 1, "overdue": 2, "noOutcome": 0, "unacknowledged": 0}


def test_a_referral_timer_run_counts_its_overdue_escalations(telemetry):
    referral_timers_job(SimpleNamespace(referral_timers=_Timers()))
    assert telemetry.counted("telederm.referrals.notices", notice="overdue") == 2
    assert telemetry.counted("telederm.referrals.notices", notice="dueToday") == 1
    assert not [a for n, a, _ in telemetry.metric_points() if n == "telederm.referrals.notices"
                and a["notice"] in ("noOutcome", "unacknowledged")]


def test_the_overdue_referrals_alert_reads_that_metric():
    d = doc("modules/alerts.bicep")
    body = config(resources(d, "Microsoft.Insights/scheduledQueryRules")["overdueReferralsAlert"])
    [criterion] = body["properties"]["criteria"]["allOf"]
    query = resolve(d, criterion["query"])
    assert query.lstrip().startswith("customMetrics")
    assert 'name == "telederm.referrals.notices"' in query
    assert 'tostring(customDimensions["notice"]) == "overdue"' in query
    assert f"summarize {criterion['metricMeasureColumn']} =" in query
    assert (criterion["operator"], criterion["threshold"]) == ("GreaterThan", 0)
    assert body["properties"]["scopes"] == ["applicationInsightsId"]
