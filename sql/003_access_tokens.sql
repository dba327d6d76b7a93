-- 003_access_tokens
-- Why: the access-token service refreshes sellers' LWA tokens. When LWA refuses a refresh token (invalid_grant: the
-- seller removed the app, or the authorization lapsed) the credential row is marked status 'revoked', and that
-- change is audited as an sp_api_auth_attempts row with flow 'refresh'. 001 and 002 allow neither value, so their
-- CHECK constraints are replaced here: ck_sp_api_credentials_status gains 'revoked', ck_sp_api_auth_attempts_flow
-- gains 'refresh'. The SQLite schema makes the same change as its version 2 (src/store/sqliteStore.ts).
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations. Idempotent when run by hand: a
-- constraint is dropped only while its definition lacks the new value, and added only while it is missing.
-- Notes: SQL Server stores the definition normalized (e.g. ([status]='revoked' OR [status]='failed' OR ...)), and
-- Babelfish for PostgreSQL may render it in a form of its own, so the test looks for the quoted value, not for the IN
-- list; were it ever not to match, the constraint would only be dropped and added again: the same end state.
-- Statements valid on SQL Server 2016+ / Azure SQL and Babelfish 4.3: a plain ALTER TABLE ... ADD CONSTRAINT, not
-- WITH CHECK ADD; a new constraint is checked against the existing rows all the same, and every existing row holds one
-- of the old values, which the new lists keep, so the constraint is trusted.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

-- sp_api_credentials.status: + 'revoked'
IF EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_credentials_status'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credentials]')
    AND definition NOT LIKE N'%''revoked''%'
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_credentials] DROP CONSTRAINT ck_sp_api_credentials_status;
END;

IF NOT EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_credentials_status'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credentials]')
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_credentials]
    ADD CONSTRAINT ck_sp_api_credentials_status CHECK (status IN ('pending', 'authorized', 'failed', 'revoked'));
END;

-- sp_api_auth_attempts.flow: + 'refresh'
IF EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
    AND definition NOT LIKE N'%''refresh''%'
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts] DROP CONSTRAINT ck_sp_api_auth_attempts_flow;
END;

IF NOT EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts]
    ADD CONSTRAINT ck_sp_api_auth_attempts_flow CHECK (flow IN ('website', 'callback', 'refresh'));
END;
