// Azure SQL for the service: Microsoft Entra authentication only (no SQL logins exist), one serverless database.
// The database users of the app and migration identities are created after provisioning, by the Entra admin
// (infra/scripts/postprovision.sh runs infra/sql/database-users.sql): ARM cannot create database users.

param name string
param location string
param tags object
param databaseName string

@description('Object id of the server\'s Entra admin.')
param adminObjectId string

@allowed(['Application', 'Group', 'User'])
param adminPrincipalType string

@description('Minutes idle before the database pauses; -1: never.')
param autoPauseDelay int

module server 'br/public:avm/res/sql/server:0.16.1' = {
  name: 'sqlServer'
  params: {
    name: name
    location: location
    tags: tags
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: 'azd-deployer'
      principalType: adminPrincipalType
      sid: adminObjectId
      tenantId: tenant().tenantId
    }
    // 0.0.0.0 is Azure's "allow Azure services" rule: the Flex Consumption app has no fixed outbound address.
    // The postprovision hook adds the deployer's own address.
    firewallRules: [
      {
        name: 'AllowAllWindowsAzureIps'
        startIpAddress: '0.0.0.0'
        endIpAddress: '0.0.0.0'
      }
    ]
    databases: [
      {
        name: databaseName
        sku: {
          name: 'GP_S_Gen5_1'
          tier: 'GeneralPurpose'
          family: 'Gen5'
          capacity: 1
        }
        minCapacity: '0.5'
        autoPauseDelay: autoPauseDelay
        availabilityZone: -1
        zoneRedundant: false
        requestedBackupStorageRedundancy: 'Local'
      }
    ]
  }
}

output name string = server.outputs.name
output fullyQualifiedDomainName string = server.outputs.fullyQualifiedDomainName
