// Key Vault (Premium, so keys live in HSMs): the patient key-encryption key (KEK) and the one
// secret of the system, the Graph mail client secret.
//
// Access is Azure RBAC only (no access policies). The app's identity gets just what it uses, on the
// narrowest scope (see rbac.bicep): wrap/unwrap/read on the KEK, and read on secrets.
// Nothing can be destroyed for good by mistake or malice: soft delete for 90 days and purge
// protection (which cannot be turned off again) keep deleted keys, versions and secrets recoverable.

@description('Region. UK only (Microsoft replicates vault contents to the paired UK region).')
@allowed([
  'uksouth'
  'ukwest'
])
param location string
param tags object
@minLength(3)
@maxLength(24)
param name string
param logAnalyticsWorkspaceId string

// The name is derived (main.bicep: uniqueString of subscription, environment and region), so one
// environment always gets the same vault. After a teardown, purge protection keeps the deleted
// vault, and its name, for 90 days: a plain create then fails. 'recover' brings that vault back with
// its keys and secrets instead, which is what we want: the patient KEK in it is the only key that
// unwraps patient keys restored from backups. scripts/deploy.sh detects a soft-deleted vault of the
// environment and sets 'recover' (AZURE_KEY_VAULT_CREATE_MODE overrides; docs/operations.md).
@description('\'default\' creates or updates the vault; \'recover\' restores the soft-deleted vault of this name (after a teardown within the 90-day retention).')
@allowed([
  'default'
  'recover'
])
param createMode string = 'default'

@secure()
@description('Graph client secret; empty to leave the secret to operations (`az keyvault secret set`).')
param graphClientSecret string = ''

@description('Expiry (Unix seconds) recorded on the Graph secret: set it to the Entra client secret\'s own expiry.')
param graphClientSecretExpiry int = dateTimeToEpoch(dateTimeAdd(utcNow(), 'P1Y'))

@description('Expiry (Unix seconds) of the first KEK version. Expired versions still unwrap; the rotation policy makes new versions well before.')
param kekExpiry int = dateTimeToEpoch(dateTimeAdd(utcNow(), 'P2Y'))

// Names read by the code (KEK_NAME and GRAPH_SECRET_NAME in shared_code/settings.py).
var kekName = 'patient-kek'
var graphSecretName = 'graph-client-secret'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: No VNet: Flex Consumption without VNet integration has no fixed outbound IPs to allow, so the firewall cannot default to deny. RBAC-only authorisation: every request needs an Entra token with a Key Vault data role, and the KEK's private half never leaves the HSM.
  // checkov:skip=CKV_AZURE_189: Same reason as CKV_AZURE_109 (the app reaches the vault over its public endpoint, Entra ID authenticated).
  name: name
  location: location
  tags: tags
  properties: {
    createMode: createMode
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      // Premium: RSA-HSM keys (FIPS 140 validated HSMs).
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

// The patient KEK. Each patient's key is wrapped by a version of this key (RSA-OAEP-256); the
// wrapped blob records the version, so old versions keep unwrapping after a rotation. Never disable
// or delete an old version until `python -m shared_code.cli rotate-patient-keys` has re-wrapped
// every patient key (docs/operations.md).
// ARM creates the key if it does not exist and never changes an existing key, so redeploying this
// template neither rotates the KEK nor resets its expiry.
resource kek 'Microsoft.KeyVault/vaults/keys@2023-07-01' = {
  parent: vault
  name: kekName
  properties: {
    kty: 'RSA-HSM'
    keySize: 3072
    // Wrap and unwrap only: this key cannot be used to sign or to encrypt arbitrary data.
    keyOps: [
      'wrapKey'
      'unwrapKey'
    ]
    attributes: {
      enabled: true
      exp: kekExpiry
    }
    // Key Vault makes a new version every year; each version expires after two years and Event
    // Grid raises KeyNearExpiry 30 days before. An expired version is refused for wrap but still
    // unwraps, so data wrapped under it stays readable until rotate-patient-keys has re-wrapped it.
    rotationPolicy: {
      attributes: {
        expiryTime: 'P2Y'
      }
      lifetimeActions: [
        {
          trigger: {
            timeAfterCreate: 'P1Y'
          }
          action: {
            type: 'rotate'
          }
        }
        {
          trigger: {
            timeBeforeExpiry: 'P30D'
          }
          action: {
            type: 'notify'
          }
        }
      ]
    }
  }
}

// The Graph client secret. Its value is never in this repository: either pass it as the secure
// parameter graphClientSecret at deploy time, or (recommended) leave that empty and set it with
//   az keyvault secret set --vault-name <vault> --name graph-client-secret --file <file> --expires <date>
// The resource is only declared when a value is given, so a redeploy without it never overwrites
// the value operations set.
resource graphSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(graphClientSecret)) {
  // checkov:skip=CKV_AZURE_41: Checkov does not evaluate inside a conditional resource; exp is set below (tests/infra asserts it).
  // checkov:skip=CKV_AZURE_114: Checkov does not evaluate inside a conditional resource; contentType is set below (tests/infra asserts it).
  parent: vault
  name: graphSecretName
  properties: {
    value: graphClientSecret
    contentType: 'text/plain; Microsoft Entra client secret for Graph sendMail'
    attributes: {
      enabled: true
      exp: graphClientSecretExpiry
    }
  }
}

// Audit trail of every key and secret operation, kept in the UK Log Analytics workspace.
resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
output kekName string = kek.name
output graphSecretName string = graphSecretName
