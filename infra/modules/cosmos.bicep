// Cosmos DB (NoSQL API): patient, clinic and directory documents and the audit log.
//
// UK only: one write region (the primary UK region) and one failover region (the other UK region).
// Keyless: disableLocalAuth turns the account keys off for data access, so the app can only use
// Entra ID, through the data-plane role assignment at the bottom of this file.

@description('Primary (write) region. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string

@description('Failover region: the other UK region.')
@allowed([
  'uksouth'
  'ukwest'
])
param failoverLocation string

param tags object
param name string

@description('Principal id of the app\'s managed identity (gets Cosmos DB Built-in Data Contributor).')
param principalId string

param logAnalyticsWorkspaceId string

@description('Autoscale ceiling (RU/s) shared by the database\'s containers.')
param maxThroughput int = 1000

// These names are read by the code from shared_code/settings.py (tests/infra checks they agree).
var databaseName = 'telederm'
var documentContainerNames = [
  'patients'
  'clinics'
  'directory'
  'audit'
]
var partitionKeyPath = '/pk'

// Indexing: everything on the range index (/*, consistent), except nested blobs no query reads
// (a referral's log, lesions, patient, history and outcome, outbox event ids, wrapped keys): less
// RU per write, and no patient detail in the index. The port queries top-level fields only.
var unindexedPaths = [
  { path: '/"_etag"/?' }
  { path: '/log/*' }
  { path: '/lesions/*' }
  { path: '/patient/*' }
  { path: '/history/*' }
  { path: '/outcome/*' }
  { path: '/events/*' }
  { path: '/referralKey/*' }
]

// One composite index per ordered query shape the code sends (shared_code: every Query(...) of the
// document port, which becomes `WHERE c.pk = @pk AND c.<equals...> = @v ORDER BY <index fields>`,
// shared_code/ports/documents.py Query.index_fields: the equality fields sorted, then the order
// field). With it Cosmos DB reads a page of 50 in index order instead of filtering the partition
// (issue 12.3). Ascending; Cosmos DB serves the same paths all descending from it too (the
// newest-first lists). tests/infra/test_cosmos_indexes.py derives the shapes from the code and fails
// when one has no index here (or an index serves no query); the tests' Cosmos containers are made
// with this same file (tests/support/cosmos_policy.py), and the emulator refuses an ORDER BY of
// several fields that has no composite index, so every query of the suite proves its index.
var compositeIndexes = loadJsonContent('cosmos-indexes.json')

// Cosmos DB Built-in Data Contributor: read and write items, no account or key management.
var dataContributorRoleDefinitionId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  // checkov:skip=CKV_AZURE_99: No VNet: Flex Consumption without VNet integration has no fixed outbound IPs to allow. Keys are disabled, so every request needs an Entra token with a data-plane role.
  // checkov:skip=CKV_AZURE_101: Same reason as CKV_AZURE_99; access is Entra ID only (disableLocalAuth).
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    // Encrypted at rest with Microsoft-managed keys; the patient keys stored here are themselves
    // wrapped by the HSM-held KEK, so a copy of this database alone decrypts no image.
    consistencyPolicy: {
      defaultConsistencyLevel: 'Session'
    }
    // Only the UK pair. Single write region: automatic failover promotes the other UK region.
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
      {
        locationName: failoverLocation
        failoverPriority: 1
        isZoneRedundant: false
      }
    ]
    enableAutomaticFailover: true
    enableMultipleWriteLocations: false
    // No keys: data access with Entra ID only, and no key-based control-plane writes either.
    disableLocalAuth: true
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
    // Point-in-time restore to any second of the last 30 days (docs/operations.md), into the UK
    // regions the account lives in.
    backupPolicy: {
      type: 'Continuous'
      continuousModeProperties: {
        tier: 'Continuous30Days'
      }
    }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: {
      id: databaseName
    }
    options: {
      autoscaleSettings: {
        maxThroughput: maxThroughput
      }
    }
  }
}

// Every container is partitioned on /pk (the code sets pk on every document).
resource containers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [for containerName in documentContainerNames: {
  parent: database
  name: containerName
  properties: {
    resource: {
      id: containerName
      partitionKey: {
        paths: [
          partitionKeyPath
        ]
        kind: 'Hash'
        version: 2
      }
      // TTL on, no default: only items that carry `ttl` expire (notification dedupe records).
      defaultTtl: -1
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [
          {
            path: '/*'
          }
        ]
        excludedPaths: unindexedPaths
        compositeIndexes: compositeIndexes[containerName]
      }
    }
  }
}]

// Data-plane RBAC (not Azure RBAC): the app's identity may read and write items in this database
// only. The role assignment name is a GUID derived from scope, principal and role.
resource dataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(database.id, principalId, dataContributorRoleDefinitionId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleDefinitionId}'
    principalId: principalId
    scope: '${account.id}/dbs/${databaseName}'
  }
}

// Audit trail of control-plane and data-plane requests, kept in the UK Log Analytics workspace.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: account
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'DataPlaneRequests'
        enabled: true
      }
      {
        category: 'ControlPlaneRequests'
        enabled: true
      }
    ]
  }
}

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
output containerNames array = documentContainerNames
