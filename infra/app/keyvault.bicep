// Key Vault for the app's secrets (ITSM credentials and webhook signing secrets). RBAC mode: the
// managed identity gets Key Vault Secrets User on this vault only (rbac.bicep); nobody gets access
// policies. Secret reads are audited to Log Analytics.

@description('Key Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Log Analytics workspace that receives the vault audit log.')
param logAnalyticsWorkspaceId string

@description('Secret name → value. Entries with an empty value are not written, so an existing secret is left as it is.')
@secure()
param secrets object

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be turned off again: a deleted vault keeps its name for 90 days.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // App Service resolves Key Vault references over the public endpoint unless the app is
      // VNet-integrated; access is still gated by RBAC.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = [
  for item in items(secrets): if (!empty(item.value)) {
    parent: vault
    name: item.key
    properties: {
      value: item.value
      contentType: 'text/plain'
    }
  }
]

resource auditLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output id string = vault.id
output name string = vault.name
@description('Vault URI with a trailing slash, e.g. https://kv-x.vault.azure.net/.')
output uri string = vault.properties.vaultUri
