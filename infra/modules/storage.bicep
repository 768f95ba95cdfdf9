// The storage account: patient images (ciphertext only), the short-lived upload landing zone, the
// notification queues, the Functions host's own state and the code deployment package.
//
// Keyless: shared key access is disabled, so no account key, account SAS or service SAS can be used.
// Uploads use user delegation SAS, which are signed with an Entra-issued delegation key of the
// app's managed identity, last at most 15 minutes (UPLOAD_URL_MINUTES) and are revoked with it.
// Residency: the account lives in the primary UK region; geo-redundant copies go only to the fixed
// Azure pair of that region, which for UK South is UK West and for UK West is UK South.

@description('Region. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string
param tags object
@minLength(3)
@maxLength(24)
param name string
param systemTopicName string
param logAnalyticsWorkspaceId string
@description('Browser origins allowed to PUT directly to blob storage with an upload SAS.')
param uploadCorsOrigins array = []

@description('Days that deleted blobs, blob versions and deleted containers stay recoverable.')
@minValue(7)
@maxValue(365)
param softDeleteRetentionInDays int = 7

// These names are read by the code from shared_code/settings.py (tests/infra checks they agree).
var imagesContainerName = 'images'
var incomingContainerName = 'incoming'
var deploymentContainerName = 'deployments'
var notificationsQueueName = 'notifications'
var notificationsPoisonQueueName = 'notifications-poison'
var decisionSupportQueueName = 'decision-support'
var decisionSupportPoisonQueueName = 'decision-support-poison'

// Geo-redundant, UK pair only. UK South has availability zones, so there we also replicate across
// zones (GZRS); UK West has none, so it gets GRS. Either way the secondary copy is in the other UK
// region. Read access to the secondary (RA-*) is not enabled: the app only uses the primary.
var skuName = location == 'uksouth' ? 'Standard_GZRS' : 'Standard_GRS'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: Replicated: the SKU is Standard_GZRS (UK South) or Standard_GRS (UK West), chosen from the region by an expression checkov cannot evaluate; tests/infra asserts both values.
  // checkov:skip=CKV_AZURE_35: Patients' phones upload straight to this account with short-lived user delegation SAS, and Flex Consumption has no fixed outbound IPs without a VNet, so the firewall cannot default to deny. Shared keys are disabled: every request needs an Entra token or a delegation SAS.
  // checkov:skip=CKV_AZURE_59: Same reason as CKV_AZURE_35: public network access is needed for direct uploads; access is authorised per request with Entra ID only.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    // No keys to steal: Entra ID (and user delegation SAS) only.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    // Copy operations only from accounts in the same Entra tenant.
    allowedCopyScope: 'AAD'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    isHnsEnabled: false
    isSftpEnabled: false
    isLocalUserEnabled: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    // At rest: Microsoft-managed keys plus a second, infrastructure layer of encryption. Images are
    // also envelope-encrypted by the app (per-patient keys wrapped by the HSM-held KEK) before they
    // are written to 'images', so a copy of this account's data alone reveals no image.
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        file: {
          enabled: true
          keyType: 'Account'
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    // Restore: every overwrite keeps the previous version, deletes are soft for N days, and the
    // change feed makes point-in-time restore of block blobs possible (docs/operations.md).
    isVersioningEnabled: true
    changeFeed: {
      enabled: true
      retentionInDays: softDeleteRetentionInDays
    }
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionInDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteRetentionInDays
    }
    restorePolicy: {
      enabled: true
      days: softDeleteRetentionInDays - 1
    }
    cors: {
      corsRules: empty(uploadCorsOrigins) ? [] : [
        {
          allowedOrigins: uploadCorsOrigins
          allowedMethods: [
            'PUT'
            'OPTIONS'
          ]
          allowedHeaders: [
            'content-type'
            'x-ms-blob-type'
            'x-ms-version'
            'x-ms-client-request-id'
          ]
          exposedHeaders: [
            'etag'
            'x-ms-request-id'
          ]
          maxAgeInSeconds: 600
        }
      ]
    }
  }
}

// Ciphertext of patient images and thumbnails (envelope-encrypted by the app).
resource imagesContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: imagesContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Upload landing zone: a patient's SAS PUT lands here, the Event Grid blob trigger
// (process_incoming_upload) encrypts it into 'images' and deletes it. The lifecycle rule below
// removes anything left behind after one day.
resource incomingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: incomingContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Flex Consumption code packages (written by the publish step, read by the platform with the
// app's managed identity).
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Data minimisation: nothing stays in the upload landing zone for more than a day, whether or not
// it was processed, including its previous versions and snapshots.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          enabled: true
          name: 'delete-incoming-after-1-day'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${incomingContainerName}/'
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterModificationGreaterThan: 1
                }
              }
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
              snapshot: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
        {
          // The Functions host rewrites its lock and timer blobs constantly; with versioning on,
          // keep their previous versions for a day only.
          enabled: true
          name: 'expire-functions-host-versions'
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                'azure-webjobs-hosts/'
              ]
            }
            actions: {
              version: {
                delete: {
                  daysAfterCreationGreaterThan: 1
                }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [
    incomingContainer
  ]
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// Outgoing notification mail jobs, and where the Functions host moves a job after its last attempt.
resource notificationsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: notificationsQueueName
}

resource notificationsPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: notificationsPoisonQueueName
}

// Referral lesions waiting for an AI decision-support assessment (ids only, never an image or a
// patient detail), and where the Functions host moves a job after its last attempt.
resource decisionSupportQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: decisionSupportQueueName
}

resource decisionSupportPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: decisionSupportPoisonQueueName
}

// Storage events for the Event Grid blob trigger. The event subscription itself is created by
// scripts/deploy.sh after the code is published: it needs the host's blobs_extension system key,
// which only exists once the function does (the Flex Consumption way of running blob triggers).
// The topic lives in the account's own region; events carry blob names, never blob contents.
resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// Audit trail of every blob and queue read, write and delete, kept in the UK Log Analytics workspace.
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: blobService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

resource queueDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: queueService
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'StorageRead'
        enabled: true
      }
      {
        category: 'StorageWrite'
        enabled: true
      }
      {
        category: 'StorageDelete'
        enabled: true
      }
    ]
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output deploymentContainerName string = deploymentContainer.name
output imagesContainerName string = imagesContainer.name
output incomingContainerName string = incomingContainer.name
output notificationsQueueName string = notificationsQueue.name
output notificationsPoisonQueueName string = notificationsPoisonQueue.name
output decisionSupportPoisonQueueName string = decisionSupportPoisonQueue.name
output systemTopicName string = systemTopic.name
