// The one identity the app uses for everything: host storage, Key Vault references,
// Application Insights ingestion and Microsoft Graph. A user-assigned identity outlives the
// function app, so Graph app-role assignments granted to it survive a re-created site.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
