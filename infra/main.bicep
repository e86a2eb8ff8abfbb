// IamFulfillment on Azure Functions (Flex Consumption), in the shape azd expects:
// `azd up` creates the resource group and everything in it, then deploys the app package.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; also seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region for all resources. It must offer Flex Consumption: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Resource group to create or reuse. Default: rg-<environmentName>.')
param resourceGroupName string = ''

// ---- ServiceNow (required: it is the ticket system the service starts with) ----

@description('ServiceNow instance, e.g. https://contoso.service-now.com (ServiceNow__InstanceUrl).')
param serviceNowInstanceUrl string

@description('OAuth client id of the ServiceNow application registry entry (ServiceNow__ClientId).')
param serviceNowClientId string

@secure()
@description('OAuth client secret for the client-credentials grant (ServiceNow__ClientSecret, stored in Key Vault).')
param serviceNowClientSecret string

@description('user_name of the ServiceNow integration user the OAuth client acts as; its own journal entries are ignored (ServiceNow__IntegrationUserName).')
param serviceNowIntegrationUserName string

@secure()
@description('Base64 key the business rule signs webhooks with (ServiceNow__WebhookSecret, stored in Key Vault).')
param serviceNowWebhookSecret string

@secure()
@description('Second accepted webhook key while rotating; empty = none (ServiceNow__WebhookSecretSecondary).')
param serviceNowWebhookSecretSecondary string = ''

// ---- Jira Service Management (optional: empty jiraBaseUrl leaves every Jira setting out) ----

@description('Jira Cloud site, e.g. https://contoso.atlassian.net (Jira__BaseUrl). Empty = no Jira.')
param jiraBaseUrl string = ''

@description('Atlassian account e-mail the API token belongs to (Jira__Email).')
param jiraEmail string = ''

@secure()
@description('Atlassian API token (Jira__ApiToken, stored in Key Vault).')
param jiraApiToken string = ''

@secure()
@description('Secret of the Jira webhook, used for its sha256 HMAC (Jira__WebhookSecret, stored in Key Vault).')
param jiraWebhookSecret string = ''

@secure()
@description('Second accepted Jira webhook secret while rotating; empty = none (Jira__WebhookSecretSecondary).')
param jiraWebhookSecretSecondary string = ''

@description('JQL naming the requests reconciliation searches, as the webhook\'s JQL does, e.g. project = HR (Jira__ReconciliationJql). Empty = Jira is not reconciled.')
param jiraReconciliationJql string = ''

// ---- Microsoft Graph ----

@description('Mailbox (UPN or object id) the app sends notifications from (Graph__MailSender). Empty = no mail, and no Mail.Send needed.')
param graphMailSender string = ''

// ---- Application ----

@description('Work queue name (Storage__QueueName).')
param queueName string = 'iamf-work'

@description('Prefix of the state and audit tables (Storage__TablePrefix).')
param tablePrefix string = 'iamf'

@description('Policy file inside the deployed package (Policy__Path).')
param policyPath string = 'policy.json'

@minValue(1)
@maxValue(100)
@description('Deliveries of a queue message before its ticket is escalated; also set as the host\'s queue maxDequeueCount so the two cannot drift.')
param maxDeliveries int = 5

// ---- Hosting ----

@description('dotnet-isolated version on Flex Consumption.')
param functionsRuntimeVersion string = '10.0'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Scale-out ceiling. Every instance adds Graph and ITSM traffic; the throttling limits are per app and tenant, not per instance.')
param maximumInstanceCount int = 40

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'iamfulfillment'
}
var serviceName = 'iamfulfillment'
var jiraEnabled = !empty(jiraBaseUrl)

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}iamf-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}iamf-${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}iamf-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: 'app-package-${resourceToken}'
    queueName: queueName
  }
}

// Key Vault secret name → value. Jira secrets are dropped when Jira is not configured.
var keyVaultSecrets = {
  'servicenow-client-secret': serviceNowClientSecret
  'servicenow-webhook-secret': serviceNowWebhookSecret
  'servicenow-webhook-secret-secondary': serviceNowWebhookSecretSecondary
  'jira-api-token': jiraEnabled ? jiraApiToken : ''
  'jira-webhook-secret': jiraEnabled ? jiraWebhookSecret : ''
  'jira-webhook-secret-secondary': jiraEnabled ? jiraWebhookSecretSecondary : ''
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
    secrets: keyVaultSecrets
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// App setting → Key Vault secret. A setting is present only when this deployment wrote its secret:
// a reference to a missing secret would hand the app the literal "@Microsoft.KeyVault(...)" text
// as a signing key, while a missing setting makes start-up fail and name the key.
var secretSettings = {
  ServiceNow__ClientSecret: 'servicenow-client-secret'
  ServiceNow__WebhookSecret: 'servicenow-webhook-secret'
  ServiceNow__WebhookSecretSecondary: 'servicenow-webhook-secret-secondary'
  Jira__ApiToken: 'jira-api-token'
  Jira__WebhookSecret: 'jira-webhook-secret'
  Jira__WebhookSecretSecondary: 'jira-webhook-secret-secondary'
}

var keyVaultReferences = toObject(
  filter(items(secretSettings), setting => !empty(keyVaultSecrets[setting.value])),
  setting => setting.key,
  // Versionless URI: a new secret version is picked up without redeploying (rotation).
  setting => '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/${setting.value}/)'
)

var appSettings = union(
  {
    Storage__QueueName: queueName
    Storage__TablePrefix: tablePrefix
    Policy__Path: policyPath
    Processing__MaxDeliveries: string(maxDeliveries)
    AzureFunctionsJobHost__extensions__queues__maxDequeueCount: string(maxDeliveries)
    ServiceNow__InstanceUrl: serviceNowInstanceUrl
    ServiceNow__ClientId: serviceNowClientId
    ServiceNow__IntegrationUserName: serviceNowIntegrationUserName
    Graph__AuthMode: 'ManagedIdentity'
    Graph__ManagedIdentityClientId: identity.outputs.clientId
  },
  empty(graphMailSender) ? {} : { Graph__MailSender: graphMailSender },
  jiraEnabled
    ? {
        Jira__BaseUrl: jiraBaseUrl
        Jira__Email: jiraEmail
      }
    : {},
  jiraEnabled && !empty(jiraReconciliationJql) ? { Jira__ReconciliationJql: jiraReconciliationJql } : {},
  keyVaultReferences
)

module functionApp 'app/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    planName: '${abbrs.webServerFarms}iamf-${resourceToken}'
    name: '${abbrs.webSitesFunctions}iamf-${resourceToken}'
    location: location
    tags: tags
    serviceName: serviceName
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    runtimeVersion: functionsRuntimeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
  }
  // The app must not start before its identity may read the package, the queue and the secrets.
  dependsOn: [
    rbac
  ]
}

var appBaseUrl = 'https://${functionApp.outputs.defaultHostName}'

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_IAMFULFILLMENT_NAME string = functionApp.outputs.name
output SERVICE_IAMFULFILLMENT_URI string = appBaseUrl
output AZURE_MANAGED_IDENTITY_NAME string = identity.outputs.name
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output GRAPH_MAIL_SENDER string = graphMailSender
output SERVICENOW_WEBHOOK_URL string = '${appBaseUrl}/api/webhooks/servicenow'
output JIRA_WEBHOOK_URL string = jiraEnabled ? '${appBaseUrl}/api/webhooks/jira' : ''
