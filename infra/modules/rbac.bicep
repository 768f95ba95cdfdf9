// Least-privilege Azure RBAC for the app's managed identity: each role on the narrowest scope that
// works. Every assignment is named guid(scope, principal, role), so redeploying is idempotent and
// two assignments can never collide. (Cosmos DB data access is not Azure RBAC: see the
// sqlRoleAssignments resource in cosmos.bicep.)
//
// Built-in role definition ids (the same in every tenant):
//   b7e6dc6d-f1e8-4753-8033-0f276bb0955b  Storage Blob Data Owner
//   974c5e8b-45b9-4653-ba55-5f855dd0fb88  Storage Queue Data Contributor
//   db58b8e5-c6ad-4a2a-8342-4190687cbf4a  Storage Blob Delegator
//   e147488a-f6f5-4113-8e2d-b22465e65bf6  Key Vault Crypto Service Encryption User (keys read, wrap, unwrap)
//   4633458b-17de-408a-b874-0445c86b69e6  Key Vault Secrets User (read secret values)
//   3913510d-42f4-4e42-8a64-420c390055eb  Monitoring Metrics Publisher

@description('Principal (object) id of the app\'s user-assigned managed identity.')
param principalId string
param storageAccountName string
param keyVaultName string
param kekName string
param applicationInsightsName string

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageBlobDelegator = 'db58b8e5-c6ad-4a2a-8342-4190687cbf4a'
var keyVaultCryptoServiceEncryptionUser = 'e147488a-f6f5-4113-8e2d-b22465e65bf6'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource kek 'Microsoft.KeyVault/vaults/keys@2023-07-01' existing = {
  parent: vault
  name: kekName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// Blob Data Owner (not just Contributor): the Functions host needs it for AzureWebJobsStorage
// (its lease and lock blobs) and for the blob trigger's receipts. The app itself reads and writes
// 'images' and 'incoming'.
resource blobDataOwnerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The notifications and decision-support queues and their poison queues (the queue triggers and
// the app's enqueue).
resource queueDataContributorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataContributor)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Get a user delegation key, to sign the short-lived upload SAS URLs. (Blob Data Owner includes this
// action too; the explicit assignment records why the app needs it and survives a later narrowing
// of the data role.) A delegation key can only be granted on the account or above.
resource blobDelegatorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDelegator)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDelegator)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// On the KEK only, not the vault: read the key's public part and versions, wrap and unwrap. No
// sign, no decrypt, no key management, no backup or export.
resource kekCryptoAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(kek.id, principalId, keyVaultCryptoServiceEncryptionUser)
  scope: kek
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultCryptoServiceEncryptionUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Read secret values. On the vault because the secrets are created by operations after the
// deployment (a role assignment cannot target a secret that does not exist yet); the vault holds
// only the app's own secrets (the Graph client secret and, with an NHS number trace, the PDS
// signing key), and this role grants nothing on keys.
resource secretsUserAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Send telemetry to Application Insights with an Entra token (its local auth is off).
resource metricsPublisherAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
