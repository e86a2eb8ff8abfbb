// Storage for the Functions host (AzureWebJobsStorage), the work queue, the state and audit tables,
// and the Flex Consumption deployment packages. Shared keys are off: every caller, the platform
// included, authenticates with Microsoft Entra ID (role assignments in rbac.bicep).

@description('Storage account name: 3-24 lowercase letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Replication. Standard_ZRS where the region offers it keeps the queue and audit tables through a zone outage.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Work queue the webhooks write to and the queue trigger reads (Storage__QueueName). The runtime creates "<name>-poison" itself.')
param queueName string

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Flex Consumption without VNet integration reaches storage over its public endpoint;
      // access is still gated by Entra ID, never by keys.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }

  resource queueServices 'queueServices' = {
    name: 'default'

    resource workQueue 'queues' = {
      name: queueName
    }
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
