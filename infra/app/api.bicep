// The Function App: Flex Consumption, Node 22, running as the user-assigned identity for everything (host storage,
// the deployment container, Application Insights, Key Vault references). The service's own settings come in as
// `appSettings` (infra/main.bicep); the host's are added here.

param name string
param location string
param tags object
param planId string
param storageAccountName string
param deploymentContainerName string
param identityId string
param identityClientId string
param appInsightsConnectionString string
param appSettings object
param maximumInstanceCount int
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// Identity-based host storage (AzureWebJobsStorage__*: no connection string, no key); blob only, which is all the
// timers' schedule monitor and singleton locks need. Telemetry is sent with the identity too (local auth is off).
var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

module site 'br/public:avm/res/web/site:0.15.1' = {
  name: 'site'
  params: {
    kind: 'functionapp,linux'
    name: name
    location: location
    // azd finds the service's app by this tag (azure.yaml: services.api).
    tags: union(tags, { 'azd-service-name': 'api' })
    serverFarmResourceId: planId
    managedIdentities: {
      userAssignedResourceIds: [identityId]
    }
    // @Microsoft.KeyVault(...) app settings are resolved with this identity, not a system-assigned one.
    keyVaultAccessIdentityResourceId: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      alwaysOn: false
    }
    appSettingsKeyValuePairs: union(appSettings, hostSettings)
  }
}

output name string = site.outputs.name
output defaultHostname string = site.outputs.defaultHostname
