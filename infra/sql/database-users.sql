-- The database users of the service's two user-assigned managed identities. Idempotent: run it after every
-- provision (infra/scripts/postprovision.sh does, with sqlcmd -v), or by hand in SSMS / Azure Data Studio in SQLCMD
-- mode after setting the variables with :setvar. Run it as the server's Microsoft Entra admin, in the app's database.
--
--   APP_IDENTITY_NAME, APP_IDENTITY_PRINCIPAL_ID              the Function App: read and write the tables, execute
--                                                             the procedures of $(SCHEMA); no DDL
--   MIGRATION_IDENTITY_NAME, MIGRATION_IDENTITY_PRINCIPAL_ID  `npm run db:migrate` from the pipeline: DDL, and the
--                                                             reads and writes of the migrations' data steps
--   SCHEMA                                                    the app's schema (dbo)
--
-- WITH OBJECT_ID names the identity by its principal (object) id, so the server needs no directory read rights.
-- The grants are on roles and on the schema, never on single objects: a migration that drops and recreates a view
-- or procedure keeps them.

SET NOCOUNT ON;

IF DATABASE_PRINCIPAL_ID(N'$(APP_IDENTITY_NAME)') IS NULL
  CREATE USER [$(APP_IDENTITY_NAME)] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '$(APP_IDENTITY_PRINCIPAL_ID)';
ALTER ROLE db_datareader ADD MEMBER [$(APP_IDENTITY_NAME)];
ALTER ROLE db_datawriter ADD MEMBER [$(APP_IDENTITY_NAME)];
GRANT EXECUTE ON SCHEMA::[$(SCHEMA)] TO [$(APP_IDENTITY_NAME)];
-- No DDL for the app, even where an earlier script gave it some (the SQL quickstart adds db_ddladmin).
IF IS_ROLEMEMBER(N'db_ddladmin', N'$(APP_IDENTITY_NAME)') = 1
  ALTER ROLE db_ddladmin DROP MEMBER [$(APP_IDENTITY_NAME)];
IF IS_ROLEMEMBER(N'db_owner', N'$(APP_IDENTITY_NAME)') = 1
  ALTER ROLE db_owner DROP MEMBER [$(APP_IDENTITY_NAME)];

IF DATABASE_PRINCIPAL_ID(N'$(MIGRATION_IDENTITY_NAME)') IS NULL
  CREATE USER [$(MIGRATION_IDENTITY_NAME)] FROM EXTERNAL PROVIDER WITH OBJECT_ID = '$(MIGRATION_IDENTITY_PRINCIPAL_ID)';
ALTER ROLE db_ddladmin ADD MEMBER [$(MIGRATION_IDENTITY_NAME)];
ALTER ROLE db_datareader ADD MEMBER [$(MIGRATION_IDENTITY_NAME)];
ALTER ROLE db_datawriter ADD MEMBER [$(MIGRATION_IDENTITY_NAME)];
GO
