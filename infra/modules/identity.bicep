// The one identity the Function App runs as. User-assigned (not system-assigned) so that its
// role assignments exist before the app starts, and so that AZURE_CLIENT_ID and
// AzureWebJobsStorage__clientId can name it explicitly.

@description('Region. UK only.')
@allowed([
  'uksouth'
  'ukwest'
])
param location string
param tags object
param name string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
