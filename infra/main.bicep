targetScope = 'subscription'

// `azd up`: one environment of the SP-API seller-authorization service, in a resource group of its own.
//
// Modelled on Azure-Samples/functions-quickstart-typescript-azd (a Flex Consumption app on Node 22 with a
// user-assigned identity, storage reached through that identity, workspace-based Application Insights without local
// auth) and Azure-Samples/functions-quickstart-dotnet-azd-sql (Azure SQL with Entra-only authentication, a Key
// Vault). The Verified Modules are pinned to the versions those two templates use (docs/deploy-azure.md says which).
//
// No Bicep compiler and no Azure access exist on the development machines: nothing here has been compiled or
// deployed from them. test/unit/infra/templateMatchesSettings.test.ts reads this file as text and checks that
// `appSettings` sets every setting src/config/settings.ts requires in Azure, secrets as Key Vault references.

@minLength(1)
@maxLength(64)
@description('azd environment name: with the subscription and the location it seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer Flex Consumption: az functionapp list-flexconsumption-locations.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of whoever runs azd (azd sets AZURE_PRINCIPAL_ID): the Entra admin of the SQL server, who runs the postprovision hook.')
param principalId string

@description('User, Group or ServicePrincipal (azd sets AZURE_PRINCIPAL_TYPE).')
@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string = 'User'

@description('owner/name of the GitHub repository whose main branch may sign in as the migration identity (azure/login). Empty: no federated credential.')
param githubRepository string = ''

// ---- The service's settings (README "Settings"). Non-secret values are plain app settings. ----

@description('SPAPI_APPLICATION_ID: the SP-API application id, amzn1.sp.solution.…')
param spapiApplicationId string

@description('LWA_CLIENT_ID: the LWA client id of the app, amzn1.application-oa2-client.…')
param lwaClientId string

@description('SPAPI_DRAFT_APP: true while the app is in Draft at Amazon.')
param spapiDraftApp bool = false

@description('SPAPI_REDIRECT_URI. Empty: https://<function app>.azurewebsites.net/api/lwa-callback.')
param spapiRedirectUri string = ''

@description('OXWEBAPP_LINK_URL (optional).')
param oxWebAppLinkUrl string = ''

@description('AUTH_RESULT_URL (optional).')
param authResultUrl string = ''

@description('EVENTS_WEBHOOK_URL (optional; EVENTS_WEBHOOK_SECRET then names the vault secret events-webhook-secret).')
param eventsWebhookUrl string = ''

@description('LWA_CLIENT_SECRET_EXPIRES_AT (optional), e.g. 2027-05-20.')
param lwaClientSecretExpiresAt string = ''

// ---- Secrets: written to the vault only when given, so a later `azd provision` without them leaves the vault's
// values as they are (a rotation done in the vault survives; a new vault needs them once). ----

@secure()
@description('LWA_CLIENT_SECRET, stored as the vault secret lwa-client-secret.')
param lwaClientSecret string = ''

@secure()
@description('LWA_CLIENT_SECRET_PREVIOUS during a rotation, stored as lwa-client-secret-previous. Empty: the setting is left out.')
param lwaClientSecretPrevious string = ''

@secure()
@description('LAUNCH_LINK_SECRET (shared with oxWebApp), stored as launch-link-secret.')
param launchLinkSecret string = ''

@secure()
@description('TOKEN_ENCRYPTION_KEYS, stored as token-encryption-keys. Losing it loses every stored refresh token.')
param tokenEncryptionKeys string = ''

@secure()
@description('EVENTS_WEBHOOK_SECRET, stored as events-webhook-secret.')
param eventsWebhookSecret string = ''

// ---- Sizing ----

@description('Minutes of inactivity before the serverless database pauses; -1 never pauses (a paused database takes about a minute to resume).')
param sqlAutoPauseDelay int = 60

@description('Most instances the app scales to. Each keeps a pool of up to 10 SQL connections.')
param maximumInstanceCount int = 40

@description('Purge protection on the vault. It holds TOKEN_ENCRYPTION_KEYS; with it on, a deleted vault cannot be purged (nor its name reused) for 90 days.')
param keyVaultPurgeProtection bool = true

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-spapi-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
var sqlDatabaseName = 'spapi'
var redirectUri = empty(spapiRedirectUri) ? 'https://${functionAppName}.azurewebsites.net/api/lwa-callback' : spapiRedirectUri

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

// The Function App's identity: host storage, Application Insights, the vault's secrets, and its database user
// (read/write the tables, execute the schema's procedures, no DDL: infra/sql/database-users.sql).
module appIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'appIdentity'
  scope: rg
  params: {
    name: 'id-app-${resourceToken}'
    location: location
    tags: tags
  }
}

// The migration identity: a database user with DDL rights, nothing else. The pipeline signs in as it (azure/login
// with OIDC) to run `npm run db:migrate`.
module migrationIdentity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'migrationIdentity'
  scope: rg
  params: {
    name: 'id-migrate-${resourceToken}'
    location: location
    tags: tags
    federatedIdentityCredentials: empty(githubRepository)
      ? []
      : [
          {
            name: 'github-main'
            issuer: 'https://token.actions.githubusercontent.com'
            subject: 'repo:${githubRepository}:ref:refs/heads/main'
            audiences: ['api://AzureADTokenExchange']
          }
        ]
  }
}

module plan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'plan'
  scope: rg
  params: {
    name: 'plan-${resourceToken}'
    location: location
    tags: tags
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
  }
}

// Host storage and the deployment container, reached only with the app's identity: shared keys are off.
module storage 'br/public:avm/res/storage/storage-account:0.8.3' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [{ name: deploymentContainerName }]
    }
    roleAssignments: [
      {
        // Blob is all the host uses here: timer schedules and singleton locks, and the deployment package.
        roleDefinitionIdOrName: 'Storage Blob Data Owner'
        principalId: appIdentity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: 'log-${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

// Workspace-based, local auth off: the host sends telemetry with the app's identity (Monitoring Metrics Publisher).
module appInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: 'appi-${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
    roleAssignments: [
      {
        roleDefinitionIdOrName: 'Monitoring Metrics Publisher'
        principalId: appIdentity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
  }
}

// Every secret the app reads, behind RBAC; the app's identity may read secrets and nothing more.
module keyVault 'br/public:avm/res/key-vault/vault:0.5.1' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    sku: 'standard'
    enableRbacAuthorization: true
    enablePurgeProtection: keyVaultPurgeProtection
    enableVaultForDeployment: false
    enableVaultForDiskEncryption: false
    enableVaultForTemplateDeployment: false
    roleAssignments: [
      {
        roleDefinitionIdOrName: 'Key Vault Secrets User'
        principalId: appIdentity.outputs.principalId
        principalType: 'ServicePrincipal'
      }
    ]
    secrets: {
      secureList: concat(
        empty(lwaClientSecret) ? [] : [
          {
            name: 'lwa-client-secret'
            value: lwaClientSecret
          }
        ],
        empty(lwaClientSecretPrevious) ? [] : [
          {
            name: 'lwa-client-secret-previous'
            value: lwaClientSecretPrevious
          }
        ],
        empty(launchLinkSecret) ? [] : [
          {
            name: 'launch-link-secret'
            value: launchLinkSecret
          }
        ],
        empty(tokenEncryptionKeys) ? [] : [
          {
            name: 'token-encryption-keys'
            value: tokenEncryptionKeys
          }
        ],
        empty(eventsWebhookSecret) ? [] : [
          {
            name: 'events-webhook-secret'
            value: eventsWebhookSecret
          }
        ]
      )
    }
  }
}

// Azure SQL, Entra-only: no SQL logins at all. The deployer is the Entra admin; the postprovision hook creates the
// two identities' database users.
module sql './app/db.bicep' = {
  name: 'sql'
  scope: rg
  params: {
    name: 'sql-${resourceToken}'
    location: location
    tags: tags
    databaseName: sqlDatabaseName
    adminObjectId: principalId
    adminPrincipalType: principalType == 'ServicePrincipal' ? 'Application' : (principalType == 'Group' ? 'Group' : 'User')
    autoPauseDelay: sqlAutoPauseDelay
  }
}

// What src/config/settings.ts reads, as Azure shows it to the app. Secrets are Key Vault references resolved with the
// app's identity (keyVaultReferenceIdentity, infra/app/api.bicep).
var appSettings = {
  SPAPI_APPLICATION_ID: spapiApplicationId
  SPAPI_REDIRECT_URI: redirectUri
  SPAPI_DRAFT_APP: string(spapiDraftApp)
  LWA_CLIENT_ID: lwaClientId
  LWA_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/lwa-client-secret/)'
  LAUNCH_LINK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/launch-link-secret/)'
  TOKEN_ENCRYPTION_KEYS: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/token-encryption-keys/)'
  // The app's own identity, by client id (src/store/mssql/connectionString.ts maps it to managed identity). No
  // secret in it, so a plain setting.
  SQL_CONNECTION_STRING: 'Server=tcp:${sql.outputs.fullyQualifiedDomainName},1433;Database=${sqlDatabaseName};Authentication=Active Directory Managed Identity;User Id=${appIdentity.outputs.clientId};Encrypt=True'
}

// Set only when given: app settings are replaced as a whole on each provision, so whatever is not here is removed.
var optionalAppSettings = union(
  empty(lwaClientSecretPrevious) ? {} : {
    LWA_CLIENT_SECRET_PREVIOUS: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/lwa-client-secret-previous/)'
  },
  empty(eventsWebhookUrl) ? {} : {
    EVENTS_WEBHOOK_URL: eventsWebhookUrl
    EVENTS_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/events-webhook-secret/)'
  },
  empty(oxWebAppLinkUrl) ? {} : {
    OXWEBAPP_LINK_URL: oxWebAppLinkUrl
  },
  empty(authResultUrl) ? {} : {
    AUTH_RESULT_URL: authResultUrl
  },
  empty(lwaClientSecretExpiresAt) ? {} : {
    LWA_CLIENT_SECRET_EXPIRES_AT: lwaClientSecretExpiresAt
  }
)

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    planId: plan.outputs.resourceId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    identityId: appIdentity.outputs.resourceId
    identityClientId: appIdentity.outputs.clientId
    appInsightsConnectionString: appInsights.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    appSettings: union(appSettings, optionalAppSettings)
  }
  // appSettings reads keyVault.outputs: the vault, its secrets and its role assignment exist before the app starts
  // resolving the references.
}

// azd keeps these in the environment (azd env get-values): the hooks and the pipeline read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = 'https://${api.outputs.defaultHostname}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_SQL_SERVER_NAME string = sql.outputs.fullyQualifiedDomainName
output AZURE_SQL_SERVER_RESOURCE_NAME string = sql.outputs.name
output AZURE_SQL_DATABASE_NAME string = sqlDatabaseName
output APP_IDENTITY_NAME string = appIdentity.outputs.name
output APP_IDENTITY_PRINCIPAL_ID string = appIdentity.outputs.principalId
output AZURE_MIGRATION_CLIENT_ID string = migrationIdentity.outputs.clientId
output MIGRATION_IDENTITY_NAME string = migrationIdentity.outputs.name
output MIGRATION_IDENTITY_PRINCIPAL_ID string = migrationIdentity.outputs.principalId
output APPLICATIONINSIGHTS_CONNECTION_STRING string = appInsights.outputs.connectionString
