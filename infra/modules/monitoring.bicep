// Log Analytics and workspace-based Application Insights, both in the primary UK region.
// Local (key-based) authentication is off on both: telemetry is ingested only with an Entra token
// of the app's managed identity (Monitoring Metrics Publisher, see rbac.bicep), and the
// connection string below therefore carries no usable secret.

@description('Region. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string
param tags object
param logAnalyticsName string
param applicationInsightsName string

@description('Days to keep logs and telemetry.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 90

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      // No shared workspace keys: agents and queries need Entra ID.
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING in the app).
    DisableLocalAuth: true
    // Keep client IP addresses masked (the default): they are personal data we do not need.
    DisableIpMasking: false
    RetentionInDays: retentionInDays
  }
}

output logAnalyticsWorkspaceId string = logAnalytics.id
output applicationInsightsName string = applicationInsights.name
output applicationInsightsId string = applicationInsights.id
// The connection string holds the instrumentation key, which is an identifier, not a credential
// once local auth is disabled: ingestion without an Entra token is refused.
output applicationInsightsConnectionString string = applicationInsights.properties.ConnectionString
