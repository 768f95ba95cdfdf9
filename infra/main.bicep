// NHS teledermatology backend: the whole Azure footprint, in the UK and without keys.
//
// Read this file first if you are reviewing information governance:
//   * UK only. Every location parameter in infra/ accepts exactly 'uksouth' or 'ukwest'. Every
//     replica is inside that pair: storage geo-replication (GRS/GZRS pairs UK South <-> UK West),
//     Cosmos DB (UK South + UK West failover), Key Vault (replicated by Microsoft to the paired
//     region, UK West). On top of that, two built-in Azure Policy assignments on the subscription
//     refuse any resource or resource group created outside UK South / UK West, whoever deploys it.
//     One exception, forced by Azure: the alerts' action group (modules/alerts.bicep) can only be
//     'global' (no UK region offers regional action groups). It holds the operations mailbox address
//     only; alert rules and all telemetry stay in the UK.
//   * No keys. Storage shared keys, Cosmos DB keys, Application Insights ingestion keys and
//     Log Analytics shared keys are all switched off; Function App publishing credentials (FTP and
//     SCM basic auth) are switched off. The app authenticates to everything with one user-assigned
//     managed identity and Microsoft Entra ID tokens. The only secret in the system is the Graph
//     mail client secret, which lives in Key Vault and never in this repository.
//   * The patient key-encryption key (KEK) is an RSA-HSM key that cannot be exported from the
//     vault's HSMs; the app may only wrap and unwrap with it.
//
// Deploy with scripts/deploy.sh (az deployment sub create --location uksouth ...) or `azd up`.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the environment (e.g. prod, staging); seeds the unique resource names.')
param environmentName string

@description('Primary region. UK only. UK South is recommended: it has availability zones, and Flex Consumption availability in UK West must be checked first (`az functionapp list-flexconsumption-locations`).')
@allowed([
  'uksouth'
  'ukwest'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string = 'uksouth'

@description('Resource group name; empty for rg-<environmentName>.')
param resourceGroupName string = ''

// --- Token issuers (the app validates every bearer token itself against these) ---
@description('Patient identity provider (e.g. NHS login / Entra External ID) issuer URL.')
param patientIssuer string
@description('Patient identity provider JWKS URL.')
param patientJwksUri string
@description('Audience the API expects in patient tokens.')
param patientAudience string
@description('Workforce (trust Entra ID tenant) issuer URL.')
param workforceIssuer string
@description('Workforce JWKS URL.')
param workforceJwksUri string
@description('Audience the API expects in workforce tokens.')
param workforceAudience string

// --- Mail through Microsoft Graph (client credentials; the secret lives in Key Vault) ---
@description('Entra tenant of the Graph mail sender app registration.')
param graphTenantId string
@description('Client (application) id of the Graph mail sender app registration.')
param graphClientId string
@description('Mailbox the service sends notifications from.')
param graphSenderAddress string
@secure()
@description('Graph client secret. Leave empty and set it with `az keyvault secret set` (see docs/operations.md); it is never stored in this repository.')
param graphClientSecret string = ''

// --- URLs ---
@description('Where clinicians open the portal (used in notification links).')
param portalBaseUrl string
@description('Public base URL of the API; empty for https://<function app default host name>.')
param publicBaseUrl string = ''
@description('Where a patient\'s mail opens the app: the universal-link base that reminder mails link a folder under. From APP_LINK_BASE_URL.')
param appLinkBaseUrl string

// --- Optional (empty: unset; the app treats an empty value as not configured) ---
@description('Workforce tenants (Entra tid, comma-separated) whose tokens are accepted; empty for the tenant WORKFORCE_ISSUER names. From WORKFORCE_TENANTS.')
param workforceTenants string = ''
@description('NHS number trace: PDS FHIR R4 base URL (.../personal-demographics/FHIR/R4); empty for no trace (numbers stay unverified). From PDS_BASE_URL.')
param pdsBaseUrl string = ''
@description('PDS OAuth token URL (.../oauth2/token). From PDS_TOKEN_URL.')
param pdsTokenUrl string = ''
@description('The application\'s PDS API key: an identifier (the signed JWT\'s iss and sub), not a secret; the private key is the secret and stays in Key Vault. From PDS_API_KEY.')
param pdsApiKey string = ''
@description('The kid of the public key registered with NHS England for PDS. From PDS_KEY_ID.')
param pdsKeyId string = ''
@description('Name of the Key Vault secret (PEM) holding the PDS signing key; empty for pds-private-key. From PDS_PRIVATE_KEY_SECRET_NAME.')
param pdsPrivateKeyName string = ''
@description('AI decision support for referrals: the provider\'s HTTPS base URL; empty for none (nothing is sent, referrals say so). From DECISION_SUPPORT_URL.')
param decisionSupportUrl string = ''
@description('Entra scope of the decision-support provider for a managed-identity token, where it accepts one; empty to use an API key from Key Vault. From DECISION_SUPPORT_SCOPE.')
param decisionSupportScope string = ''
@description('Name of the Key Vault secret holding the decision-support provider\'s API key (when it takes no Entra token). From DECISION_SUPPORT_API_KEY_SECRET_NAME.')
param decisionSupportKeyName string = ''

// --- Browser uploads ---
@description('Comma-separated browser origins (https://host[:port], e.g. the portal\'s origin) allowed to PUT uploads straight to blob storage with a user delegation SAS; empty for none (the mobile app needs no CORS). From UPLOAD_CORS_ORIGINS.')
param uploadCorsOrigins string = ''

// --- Operations ---
@minLength(3)
@description('E-mail address of the operations mailbox that receives every alert (infra/modules/alerts.bicep). From ALERT_EMAIL_ADDRESS.')
param alertEmailAddress string

@description('\'recover\' to bring back this environment\'s soft-deleted Key Vault (a redeploy within 90 days of a teardown); scripts/deploy.sh detects it. From AZURE_KEY_VAULT_CREATE_MODE.')
@allowed([
  'default'
  'recover'
])
param keyVaultCreateMode string = 'default'

// Built-in policy definitions (ids are the same in every tenant).
var allowedLocationsPolicyId = '/providers/Microsoft.Authorization/policyDefinitions/e56962a6-4747-49cd-b67b-bf8b01975c4c'
var allowedResourceGroupLocationsPolicyId = '/providers/Microsoft.Authorization/policyDefinitions/e765b5de-1225-4ba3-bd56-1ac6695af988'
// Deliberately no 'global' in this list. The built-in "Allowed locations" policy already exempts
// resources whose location is 'global' (and it only evaluates resources that have a location), and
// the only global resource here is the alerts' action group (a mailbox address, no data): the Event
// Grid system topic of a storage account lives in the account's region, and Application Insights,
// Log Analytics and the alert rules are regional. Adding 'global' would only widen what other
// deployments to this subscription could create.
var ukLocations = [
  'uksouth'
  'ukwest'
]

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
// Origins arrive as one string (azd and main.parameters.json substitute strings only).
var uploadCorsOriginList = empty(uploadCorsOrigins) ? [] : split(replace(uploadCorsOrigins, ' ', ''), ',')
var tags = {
  'azd-env-name': environmentName
  service: 'nhs-teledermatology'
  'data-residency': 'uk-only'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

// Guard rails for the whole subscription: Azure Resource Manager refuses (effect: deny) any resource
// or resource group outside UK South / UK West, whatever template, script or portal user asks.
// Give this service its own subscription: these assignments apply to everything in it.
resource allowedLocations 'Microsoft.Authorization/policyAssignments@2023-04-01' = {
  name: take('uk-only-resources-${environmentName}', 64)
  properties: {
    displayName: 'UK only: allowed locations (${environmentName})'
    description: 'Patient data must not leave the UK: resources may only be created in UK South or UK West.'
    policyDefinitionId: allowedLocationsPolicyId
    enforcementMode: 'Default'
    parameters: {
      listOfAllowedLocations: {
        value: ukLocations
      }
    }
  }
}

resource allowedResourceGroupLocations 'Microsoft.Authorization/policyAssignments@2023-04-01' = {
  name: take('uk-only-rgs-${environmentName}', 64)
  properties: {
    displayName: 'UK only: allowed locations for resource groups (${environmentName})'
    description: 'Resource groups (and so their deployment metadata) may only be created in UK South or UK West.'
    policyDefinitionId: allowedResourceGroupLocationsPolicyId
    enforcementMode: 'Default'
    parameters: {
      listOfAllowedLocations: {
        value: ukLocations
      }
    }
  }
}

// Everything else lives in one resource group, in modules/resources.bicep. It depends on the policy
// assignments so that the guard rails are in force before the first data-bearing resource exists.
module resources 'modules/resources.bicep' = {
  name: 'telederm-resources'
  scope: rg
  dependsOn: [
    allowedLocations
    allowedResourceGroupLocations
  ]
  params: {
    location: location
    resourceToken: resourceToken
    tags: tags
    patientIssuer: patientIssuer
    patientJwksUri: patientJwksUri
    patientAudience: patientAudience
    workforceIssuer: workforceIssuer
    workforceJwksUri: workforceJwksUri
    workforceAudience: workforceAudience
    graphTenantId: graphTenantId
    graphClientId: graphClientId
    graphSenderAddress: graphSenderAddress
    graphClientSecret: graphClientSecret
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
    uploadCorsOrigins: uploadCorsOriginList
    keyVaultCreateMode: keyVaultCreateMode
    alertEmailAddress: alertEmailAddress
  }
}

// Outputs read by scripts/deploy.sh (and by azd, which exports them as environment variables).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName
output AZURE_FUNCTION_APP_HOSTNAME string = resources.outputs.functionAppHostName
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName
output AZURE_EVENTGRID_SYSTEM_TOPIC_NAME string = resources.outputs.systemTopicName
output AZURE_KEY_VAULT_NAME string = resources.outputs.keyVaultName
output AZURE_COSMOS_ACCOUNT_NAME string = resources.outputs.cosmosAccountName
output AZURE_CLIENT_ID string = resources.outputs.identityClientId
output INCOMING_CONTAINER string = resources.outputs.incomingContainerName
output AZURE_ACTION_GROUP_NAME string = resources.outputs.actionGroupName
