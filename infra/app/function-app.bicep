// The Flex Consumption (FC1, Linux) plan and the function app. Runtime, scale and the deployment
// package location live in functionAppConfig; Flex rejects the classic equivalents
// (FUNCTIONS_WORKER_RUNTIME, linuxFxVersion, siteConfig.ftpsState, ...), so they are absent here.

param planName string
param name string
param location string
param tags object = {}

@description('Value of the azd-service-name tag: the service name in azure.yaml.')
param serviceName string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (for AzureWebJobsStorage and Application Insights).')
param identityClientId string

param applicationInsightsName string

@description('Blob endpoint of the storage account, with a trailing slash.')
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string

@description('Full URL of the blob container that receives the deployment package.')
param deploymentContainerUrl string

@description('.NET isolated worker version on Flex Consumption.')
param runtimeVersion string = '10.0'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Application settings of the app itself (name → value); Key Vault references included.')
param appSettings object

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

// Settings the platform needs: identity-based host storage and Entra-authenticated telemetry.
var platformSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
}

var allSettings = union(appSettings, platformSettings)

resource functionApp 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
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
    clientAffinityEnabled: false
    // Key Vault references resolve with the user-assigned identity, not a system-assigned one.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: map(items(allSettings), setting => { name: setting.key, value: setting.value })
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'dotnet-isolated'
        version: runtimeVersion
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
    }
  }
}

// No FTP and no basic-auth publishing: siteConfig.ftpsState is rejected on Flex Consumption, so
// FTP is switched off here instead; deployments authenticate with Microsoft Entra ID.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
