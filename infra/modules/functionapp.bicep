// The API and the background functions: one Python 3.11 Function App on the Flex Consumption plan.
//
// Keyless: the Functions host reaches its storage (AzureWebJobsStorage__*), the code package, Cosmos
// DB, Key Vault and Application Insights with the user-assigned managed identity; FTP and SCM basic
// authentication are off, so code can only be published with an Entra ID token.
// The app settings below are exactly the names shared_code/settings.py reads; tests/infra checks
// that every setting azure mode requires (Settings.azure_required()) is here.

@description('Region. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string
param tags object
param name string
param planName string

@description('Resource id of the user-assigned managed identity the app runs as.')
param identityId string
@description('Client id of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId).')
param identityClientId string

param storageBlobEndpoint string
param storageQueueEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string
param cosmosEndpoint string
param cosmosDatabaseName string
param keyVaultUri string
param kekName string
param graphSecretName string

param patientIssuer string
param patientJwksUri string
param patientAudience string
param workforceIssuer string
param workforceJwksUri string
param workforceAudience string
param graphTenantId string
param graphClientId string
param graphSenderAddress string
param portalBaseUrl string
@description('Public base URL of the API; empty for https://<default host name>.')
param publicBaseUrl string = ''
@description('Deep-link base of the patient app (APP_LINK_BASE_URL): reminder mails link a folder under it.')
param appLinkBaseUrl string

// Optional settings. Each is always set, empty when not given: shared_code/settings.py treats an
// empty WORKFORCE_TENANTS, PDS_BASE_URL, PDS_TOKEN_URL, PDS_API_KEY or PDS_KEY_ID as unset (no
// tenant list beyond the issuer's; no NHS number trace). PDS_PRIVATE_KEY_SECRET_NAME has a
// non-empty default in the code, so an empty parameter becomes that default here.
param workforceTenants string = ''
param pdsBaseUrl string = ''
param pdsTokenUrl string = ''
@description('The PDS application key: an identifier (the JWT iss/sub), not a secret; the signing key is the secret, in Key Vault.')
param pdsApiKey string = ''
param pdsKeyId string = ''
@description('Name of the Key Vault secret holding the PDS signing key (PEM); empty for the default.')
param pdsPrivateKeyName string = ''
// AI decision support for referrals: empty DECISION_SUPPORT_URL is no provider (nothing is sent).
param decisionSupportUrl string = ''
param decisionSupportScope string = ''
@description('Name of the Key Vault secret holding the decision-support API key; empty where the provider takes a managed-identity token.')
param decisionSupportKeyName string = ''

// shared_code/settings.py's default (tests/infra/test_function_app.py compares them).
var defaultPdsPrivateKeySecretName = 'pds-private-key'

@description('Upper bound on instances (also bounds the load on Cosmos DB and Key Vault).')
param maximumInstanceCount int = 40
@description('Instance memory: 2048 MB leaves room for 40 MB images being decoded and thumbnailed.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy depends on the region (UK West has no availability zones); instances are stateless and the platform replaces a failed one.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // Linux.
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: Platform authentication (Easy Auth) is not used: the app validates every bearer token itself against the patient and workforce issuers (PATIENT_*/WORKFORCE_* settings), and the Event Grid and health endpoints must be reachable without an Entra user session.
  // checkov:skip=CKV_AZURE_17: Client certificates are not used: patients call the API from their own devices with OAuth bearer tokens.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales per demand from zero; there is no fixed instance count to set.
  // checkov:skip=CKV_AZURE_213: App Service health check is not available on Flex Consumption; scripts/deploy.sh calls GET /api/health after every deploy and Application Insights records its failures.
  // checkov:skip=CKV_AZURE_222: The API is public by design (patients on the internet); every route except /api/health requires a valid token.
  name: name
  location: location
  // azd finds the app to deploy the 'api' service (azure.yaml) to by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    publicNetworkAccess: 'Enabled'
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      // The code package lives in our own storage account and is fetched with the managed identity
      // (no WEBSITE_RUN_FROM_PACKAGE URL, no SAS).
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// Exactly the settings shared_code/settings.py reads. No keys and no connection strings with an
// AccountKey: storage, Cosmos DB, Key Vault and telemetry are all reached with the managed identity.
// (Flex Consumption sets FUNCTIONS_WORKER_RUNTIME and the runtime version from functionAppConfig;
// they must not be app settings.)
// Checkov reads this app-settings resource as if it were a whole web app; the skips repeat the
// site-level answers.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: Tokens are validated by the app itself (see the site resource above).
  // checkov:skip=CKV_AZURE_222: Public API by design (see the site resource above).
  // checkov:skip=CKV_AZURE_88: Flex Consumption does not use Azure Files; the code package is in blob storage, read with the managed identity.
  // checkov:skip=CKV_AZURE_80: Not a .NET app (Python 3.11).
  // checkov:skip=CKV_AZURE_63: App Service HTTP logs are not available on Flex Consumption; requests are recorded in Application Insights (UK workspace).
  // checkov:skip=CKV_AZURE_65: Detailed error pages are not available on Flex Consumption and would show internals; errors are recorded in Application Insights.
  // checkov:skip=CKV_AZURE_66: Failed request tracing is not available on Flex Consumption; failures are recorded in Application Insights.
  parent: functionApp
  name: 'appsettings'
  properties: {
    APP_MODE: 'azure'
    // Functions host storage (triggers, leases, the notifications queue) with the managed identity.
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
    AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
    // DefaultAzureCredential in the app picks the user-assigned identity by this client id.
    AZURE_CLIENT_ID: identityClientId
    COSMOS_ENDPOINT: cosmosEndpoint
    COSMOS_DATABASE: cosmosDatabaseName
    KEY_VAULT_URI: keyVaultUri
    KEK_NAME: kekName
    KEK_ALGORITHM: 'RSA-OAEP-256'
    PATIENT_ISSUER: patientIssuer
    PATIENT_JWKS_URI: patientJwksUri
    PATIENT_AUDIENCE: patientAudience
    WORKFORCE_ISSUER: workforceIssuer
    WORKFORCE_JWKS_URI: workforceJwksUri
    WORKFORCE_AUDIENCE: workforceAudience
    MAIL_SENDER: 'graph'
    GRAPH_TENANT_ID: graphTenantId
    GRAPH_CLIENT_ID: graphClientId
    GRAPH_SENDER_ADDRESS: graphSenderAddress
    // The secret's name, not its value: the app reads it from Key Vault at run time.
    GRAPH_SECRET_NAME: graphSecretName
    PUBLIC_BASE_URL: !empty(publicBaseUrl) ? publicBaseUrl : 'https://${functionApp.properties.defaultHostName}'
    PORTAL_BASE_URL: portalBaseUrl
    APP_LINK_BASE_URL: appLinkBaseUrl
    WORKFORCE_TENANTS: workforceTenants
    // NHS number trace (PDS FHIR, signed-JWT application-restricted access). The API key is an
    // identifier; the private key is read from Key Vault by its secret name, at run time.
    PDS_BASE_URL: pdsBaseUrl
    PDS_TOKEN_URL: pdsTokenUrl
    PDS_API_KEY: pdsApiKey
    PDS_KEY_ID: pdsKeyId
    PDS_PRIVATE_KEY_SECRET_NAME: !empty(pdsPrivateKeyName) ? pdsPrivateKeyName : defaultPdsPrivateKeySecretName
    // AI decision support (advisory): a managed-identity token for the scope, else the API key read
    // from Key Vault by its secret name at run time.
    DECISION_SUPPORT_URL: decisionSupportUrl
    DECISION_SUPPORT_SCOPE: decisionSupportScope
    DECISION_SUPPORT_API_KEY_SECRET_NAME: decisionSupportKeyName
    // The worker sees no client address; the front end's X-Forwarded-For entry is the only one
    // (the clinic-code rate limit counts per address: shared_code/sharing/ratelimit.py).
    TRUST_X_FORWARDED_FOR: 'true'
    // Telemetry with an Entra token of the managed identity (local auth is off on App Insights).
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
    // Not a secret: it only says where to send telemetry; ingestion needs the Entra token above.
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  }
}

// No publishing passwords: FTP and SCM (Kudu) basic authentication are off, so publishing needs an
// Entra ID token (func / az CLI do that).
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
