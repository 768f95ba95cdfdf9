// Alerts, routed to one action group that e-mails operations (the address is a deployment
// parameter, ALERT_EMAIL_ADDRESS): notifications in the poison queue, a high rate of HTTP 5xx,
// Key Vault throttling the app (429), a timer that has not run for twice its period, and referrals
// escalated as overdue for review.
// What each alert means and what to do: docs/operations.md, "Alerts".
//
// Every rule is a log search alert (scheduledQueryRules) in the primary UK region, over telemetry
// that already lives in the UK: the Log Analytics workspace (storage and Key Vault resource logs)
// and the workspace-based Application Insights (the Functions host's request telemetry). Metric
// alert rules are not used:
//   * Storage queue metrics (QueueMessageCount) are per account, not per queue, and hourly: they
//     cannot tell a message parked in notifications-poison from the normal traffic of the
//     notifications queue. The queue's resource log records the host's PutMessage into the poison
//     queue, per queue and within minutes, so that is what we count.
//   * Key Vault's ServiceApiResult metric (StatusCode 429) counts the same requests that the vault's
//     AuditEvent log records with httpStatusCode 429, and that log is already sent to the workspace.
//   * A metric alert rule is a resource in location 'global'; these rules stay in the UK region.
// The queries return counts only: no path, identity or other personal data reaches an alert e-mail.

@description('Region of the alert rules. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string
param tags object
param actionGroupName string

@description('Operations mailbox that receives every alert (confirm the subscription e-mail Azure Monitor sends to it).')
@minLength(3)
param alertEmailAddress string

param logAnalyticsWorkspaceId string
param applicationInsightsId string
param storageAccountName string
param notificationsPoisonQueueName string
param decisionSupportPoisonQueueName string
param keyVaultName string

@description('Alert when more than this percentage of HTTP requests in 15 minutes answered 5xx.')
@minValue(1)
@maxValue(100)
param http5xxPercentThreshold int = 5

@description('...but only over at least this many HTTP requests in those 15 minutes (one failure in three requests is not an outage).')
@minValue(1)
param http5xxMinimumRequests int = 20

@description('Alert when Key Vault answered more than this many requests with 429 in 30 minutes (the app retries after Retry-After, so a few are harmless).')
@minValue(0)
param keyVaultThrottleThreshold int = 0

// The timers in functions/ (tests/infra checks this list against their NCRONTAB schedules). Each
// rule looks for a successful run within twice the timer's period, and never over less than
// 15 minutes: Application Insights ingestion takes a few minutes, and for the one-minute and
// five-minute timers a shorter window would raise false alarms. A log search alert looks back at
// most two days, which is exactly twice the daily timer's period.
var timers = [
  {
    name: 'sweep_outbox_timer'
    periodMinutes: 1
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'complete_audit'
    periodMinutes: 1
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'redrive_uploads'
    periodMinutes: 5
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'mark_expired_grants'
    periodMinutes: 5
    windowSize: 'PT15M'
    evaluationFrequency: 'PT5M'
  }
  {
    name: 'sweep_incoming'
    periodMinutes: 60
    windowSize: 'PT2H'
    evaluationFrequency: 'PT15M'
  }
  {
    name: 'sweep_leftovers'
    periodMinutes: 60
    windowSize: 'PT2H'
    evaluationFrequency: 'PT15M'
  }
  {
    name: 'warn_expiring_grants'
    periodMinutes: 60
    windowSize: 'PT2H'
    evaluationFrequency: 'PT15M'
  }
  {
    name: 'send_photo_reminders'
    periodMinutes: 15
    windowSize: 'PT30M'
    evaluationFrequency: 'PT15M'
  }
  {
    name: 'referral_timers'
    periodMinutes: 15
    windowSize: 'PT30M'
    evaluationFrequency: 'PT15M'
  }
  {
    name: 'warn_subscriptions_ending'
    periodMinutes: 1440
    windowSize: 'P2D'
    evaluationFrequency: 'PT1H'
  }
  {
    name: 'apply_retention'
    periodMinutes: 1440
    windowSize: 'P2D'
    evaluationFrequency: 'PT1H'
  }
  {
    name: 'apply_referral_retention'
    periodMinutes: 1440
    windowSize: 'P2D'
    evaluationFrequency: 'PT1H'
  }
]

// The Functions host moves a notification to the poison queue (PutMessage) after its last attempt.
var poisonQuery = '''
StorageQueueLogs
| where AccountName =~ "{0}"
| where OperationName == "PutMessage"
| where Uri contains "/{1}/messages"
| summarize poisoned = count()
'''

// HTTP requests only (non-HTTP function runs carry no url); the rate is 0 below the minimum volume.
var http5xxQuery = '''
requests
| where isnotempty(url)
| summarize total = count(), failed = countif(toint(resultCode) >= 500)
| project failedPercent = iff(total < {0}, 0.0, 100.0 * failed / total)
'''

var keyVaultThrottleQuery = '''
AzureDiagnostics
| where ResourceProvider == "MICROSOFT.KEYVAULT" and Category == "AuditEvent"
| where Resource =~ "{0}"
| where httpStatusCode_d == 429
| summarize throttled = count()
'''

// Referrals escalated as overdue (awaiting review past reviewDueBy) by the referral_timers run: the
// app's own metric telederm.referrals.notices (shared_code/telemetry/metrics.py), which the Azure
// Monitor distro sends to Application Insights' customMetrics. Its labels are notice kinds only.
var overdueReferralsQuery = '''
customMetrics
| where name == "telederm.referrals.notices"
| where tostring(customDimensions["notice"]) == "overdue"
| summarize overdue = sum(valueSum)
'''

// A run that failed does not count: a timer that throws every time is not doing its job either.
var timerQuery = '''
requests
| where name == "{0}" and success == true
| summarize runs = count()
'''

// The one resource of the service outside the UK regions, because it cannot be otherwise: Azure
// Monitor runs action groups either 'global' or in a short list of regions that has no UK region.
// It holds the operations mailbox address and nothing else, and the e-mails it sends carry rule
// names and counts, never patient data. The subscription's "Allowed locations" policy exempts
// 'global' resources by design (tests/infra/test_uk_only.py allows 'global' for this type only).
resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'telederm'
    enabled: true
    emailReceivers: [
      {
        name: 'operations'
        emailAddress: alertEmailAddress
        useCommonAlertSchema: true
      }
    ]
  }
}

// The queue and Key Vault rules use skipQueryValidation: on a new workspace their tables
// (StorageQueueLogs, AzureDiagnostics) only exist once the first log has arrived, minutes after this
// deployment, and validation would refuse the rule until then.
resource poisonQueueAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-notifications-poisoned'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Notifications in the poison queue'
    description: 'A notification failed every attempt and was parked in ${notificationsPoisonQueueName}. List and requeue with `python -m shared_code.cli poison` (docs/operations.md).'
    severity: 1
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: format(poisonQuery, storageAccountName, notificationsPoisonQueueName)
          timeAggregation: 'Total'
          metricMeasureColumn: 'poisoned'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    skipQueryValidation: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

// The decision-support worker retries the provider itself; what reaches this poison queue is a
// failure of ours (the document store, the key service), and its lesions wait as `queued`.
resource decisionSupportPoisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-decision-support-poisoned'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Decision-support jobs in the poison queue'
    description: 'A referral lesion\'s decision-support job failed every attempt and was parked in ${decisionSupportPoisonQueueName}; its lesion shows `queued`. Fix the cause, then move the message back to the decision-support queue (docs/operations.md).'
    severity: 3
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: format(poisonQuery, storageAccountName, decisionSupportPoisonQueueName)
          timeAggregation: 'Total'
          metricMeasureColumn: 'poisoned'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    skipQueryValidation: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource http5xxAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-http-5xx-rate'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'HTTP 5xx rate'
    description: 'More than ${http5xxPercentThreshold}% of API requests answered 5xx over 15 minutes (at least ${http5xxMinimumRequests} requests). See failures in Application Insights.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: format(http5xxQuery, http5xxMinimumRequests)
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'failedPercent'
          operator: 'GreaterThan'
          threshold: http5xxPercentThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource keyVaultThrottleAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-key-vault-throttled'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Key Vault throttling (429)'
    description: 'Key Vault ${keyVaultName} answered 429 Too Many Requests to more than ${keyVaultThrottleThreshold} requests in 30 minutes: unwraps are slowed down or failing.'
    severity: 2
    enabled: true
    scopes: [
      logAnalyticsWorkspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: format(keyVaultThrottleQuery, keyVaultName)
          timeAggregation: 'Total'
          metricMeasureColumn: 'throttled'
          operator: 'GreaterThan'
          threshold: keyVaultThrottleThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    skipQueryValidation: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource overdueReferralsAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-referrals-overdue'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Referrals overdue for review'
    description: 'The referral timer escalated referrals still awaiting review past their review-by time to their service\'s clinic admins. Check the services\' worklists.'
    severity: 2
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: overdueReferralsQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'overdue'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    // customMetrics has no row of this metric until the first escalation is sent.
    skipQueryValidation: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource timerAlerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for timer in timers: {
  name: 'alert-timer-${timer.name}-not-running'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Timer ${timer.name} has not run'
    description: 'No successful run of ${timer.name} (every ${timer.periodMinutes} min) in the last ${timer.windowSize}. Check the function\'s failures and the host in Application Insights.'
    severity: 1
    enabled: true
    scopes: [
      applicationInsightsId
    ]
    evaluationFrequency: timer.evaluationFrequency
    windowSize: timer.windowSize
    criteria: {
      allOf: [
        {
          query: format(timerQuery, timer.name)
          timeAggregation: 'Total'
          metricMeasureColumn: 'runs'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}]

output actionGroupId string = actionGroup.id
output actionGroupName string = actionGroup.name
