#!/bin/sh
# azd's postprovision hook (azure.yaml). azd runs it after every provision with the environment's values (the
# outputs of infra/main.bicep) in the environment. As you, the SQL server's Entra admin, it:
#   1. lets this machine's address through the server's firewall (rule "azd-client");
#   2. applies the migrations: npm run db:migrate, Authentication=Active Directory Default (your az login);
#   3. creates or updates the database users of the app and migration identities (infra/sql/database-users.sql).
# Needs: az (signed in as the account azd uses), go-sqlcmd (`sqlcmd`), curl, and npm. Safe to run again.
set -eu

for name in AZURE_RESOURCE_GROUP AZURE_SQL_SERVER_NAME AZURE_SQL_SERVER_RESOURCE_NAME AZURE_SQL_DATABASE_NAME \
  APP_IDENTITY_NAME APP_IDENTITY_PRINCIPAL_ID MIGRATION_IDENTITY_NAME MIGRATION_IDENTITY_PRINCIPAL_ID; do
  eval "value=\${$name:-}"
  if [ -z "$value" ]; then
    echo "postprovision: $name is not set: run this through azd (azd provision or azd up)." >&2
    exit 1
  fi
done
for tool in az sqlcmd curl npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "postprovision: $tool is required (docs/deploy-azure.md, Prerequisites)." >&2
    exit 1
  fi
done

for secret in LWA_CLIENT_SECRET LAUNCH_LINK_SECRET TOKEN_ENCRYPTION_KEYS; do
  eval "value=\${$secret:-}"
  if [ -z "$value" ]; then
    echo "postprovision: note: $secret is not set in this azd environment, so this provision left the vault's value as it was; a new vault has none until you set it (docs/deploy-azure.md)."
  fi
done

address=$(curl -fsS https://api.ipify.org)
echo "postprovision: allowing $address through the firewall of $AZURE_SQL_SERVER_RESOURCE_NAME"
az sql server firewall-rule create --resource-group "$AZURE_RESOURCE_GROUP" --server "$AZURE_SQL_SERVER_RESOURCE_NAME" \
  --name azd-client --start-ip-address "$address" --end-ip-address "$address" --output none

[ -d node_modules ] || npm ci --no-audit --no-fund
echo "postprovision: npm run db:migrate"
SQL_CONNECTION_STRING="Server=tcp:$AZURE_SQL_SERVER_NAME,1433;Database=$AZURE_SQL_DATABASE_NAME;Authentication=Active Directory Default;Encrypt=True;Connect Timeout=60" \
  SQL_SERVER='' SQL_DATABASE='' SQL_AUTH='' AZURE_TOKEN_CREDENTIALS=dev npm run db:migrate

echo "postprovision: database users of $APP_IDENTITY_NAME and $MIGRATION_IDENTITY_NAME"
sqlcmd -S "tcp:$AZURE_SQL_SERVER_NAME,1433" -d "$AZURE_SQL_DATABASE_NAME" -G -b -l 60 \
  -v APP_IDENTITY_NAME="$APP_IDENTITY_NAME" APP_IDENTITY_PRINCIPAL_ID="$APP_IDENTITY_PRINCIPAL_ID" \
  MIGRATION_IDENTITY_NAME="$MIGRATION_IDENTITY_NAME" MIGRATION_IDENTITY_PRINCIPAL_ID="$MIGRATION_IDENTITY_PRINCIPAL_ID" \
  SCHEMA=dbo \
  -i infra/sql/database-users.sql
echo "postprovision: done"
