// Every resource of the service, in one resource group. main.bicep calls this module; each module
// below is raw resources (no registry modules) so that a reviewer can read exactly what is deployed.

@description('Primary region. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string

@description('Short unique suffix for globally unique names.')
param resourceToken string

param tags object

param patientIssuer string
param patientJwksUri string
param patientAudience string
param workforceIssuer string
param workforceJwksUri string
param workforceAudience string
param graphTenantId string
param graphClientId string
param graphSenderAddress string
@secure()
param graphClientSecret string = ''
param portalBaseUrl string
param publicBaseUrl string = ''
param appLinkBaseUrl string
param workforceTenants string = ''
param pdsBaseUrl string = ''
param pdsTokenUrl string = ''
param pdsApiKey string = ''
param pdsKeyId string = ''
param pdsPrivateKeyName string = ''
param decisionSupportUrl string = ''
param decisionSupportScope string = ''
param decisionSupportKeyName string = ''
param uploadCorsOrigins array = []
@allowed([
  'default'
  'recover'
])
param keyVaultCreateMode string = 'default'
@minLength(3)
param alertEmailAddress string

// The other half of the UK region pair: the only place a replica or failover copy may live.
var pairedLocation = location == 'uksouth' ? 'ukwest' : 'uksouth'

var functionAppName = 'func-telederm-${resourceToken}'

module identity 'identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    tags: tags
    name: 'id-telederm-${resourceToken}'
  }
}

module monitoring 'monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-telederm-${resourceToken}'
    applicationInsightsName: 'appi-telederm-${resourceToken}'
  }
}

module storage 'storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: 'sttelederm${resourceToken}'
    systemTopicName: 'evgt-telederm-${resourceToken}'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    uploadCorsOrigins: uploadCorsOrigins
  }
}

module cosmos 'cosmos.bicep' = {
  name: 'cosmos'
  params: {
    location: location
    failoverLocation: pairedLocation
    tags: tags
    name: 'cosmos-telederm-${resourceToken}'
    principalId: identity.outputs.principalId
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module keyVault 'keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    tags: tags
    // 12 + 10 = 22 characters: within Key Vault's 24.
    name: 'kv-telederm-${take(resourceToken, 10)}'
    createMode: keyVaultCreateMode
    graphClientSecret: graphClientSecret
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module functionApp 'functionapp.bicep' = {
  name: 'functionapp'
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: 'plan-telederm-${resourceToken}'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    keyVaultUri: keyVault.outputs.uri
    kekName: keyVault.outputs.kekName
    graphSecretName: keyVault.outputs.graphSecretName
    patientIssuer: patientIssuer
    patientJwksUri: patientJwksUri
    patientAudience: patientAudience
    workforceIssuer: workforceIssuer
    workforceJwksUri: workforceJwksUri
    workforceAudience: workforceAudience
    graphTenantId: graphTenantId
    graphClientId: graphClientId
    graphSenderAddress: graphSenderAddress
    portalBaseUrl: portalBaseUrl
    publicBaseUrl: publicBaseUrl
    appLinkBaseUrl: appLinkBaseUrl
    workforceTenants: workforceTenants
    pdsBaseUrl: pdsBaseUrl
    pdsTokenUrl: pdsTokenUrl
    pdsApiKey: pdsApiKey
    pdsKeyId: pdsKeyId
    pdsPrivateKeyName: pdsPrivateKeyName
    decisionSupportUrl: decisionSupportUrl
    decisionSupportScope: decisionSupportScope
    decisionSupportKeyName: decisionSupportKeyName
  }
  // The host starts as soon as the app exists: give its identity its roles first, so that the first
  // start does not fail (and cache the failure) on storage, Key Vault or telemetry.
  dependsOn: [
    rbac
  ]
}

// Alerts to the operations mailbox (alerts.bicep): poison queue, HTTP 5xx, Key Vault 429, timers.
module alerts 'alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    actionGroupName: 'ag-telederm-${resourceToken}'
    alertEmailAddress: alertEmailAddress
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    storageAccountName: storage.outputs.name
    notificationsPoisonQueueName: storage.outputs.notificationsPoisonQueueName
    decisionSupportPoisonQueueName: storage.outputs.decisionSupportPoisonQueueName
    keyVaultName: keyVault.outputs.name
  }
}

module rbac 'rbac.bicep' = {
  name: 'rbac'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    kekName: keyVault.outputs.kekName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppHostName string = functionApp.outputs.defaultHostName
output storageAccountName string = storage.outputs.name
output systemTopicName string = storage.outputs.systemTopicName
output incomingContainerName string = storage.outputs.incomingContainerName
output keyVaultName string = keyVault.outputs.name
output cosmosAccountName string = cosmos.outputs.name
output identityClientId string = identity.outputs.clientId
output actionGroupName string = alerts.outputs.actionGroupName
