-- 008_credential_sweep
-- Why: the CredentialSweep timer (issue 11) checks every authorized row once a day and keeps, per (customer, region),
-- beside the credential row: its lease (lease_until: two sweeps at once check each seller once; a sweep that died
-- frees it by then), the last check (checked_at, check_outcome, check_error), what SP-API's
-- GET /sellers/v1/marketplaceParticipations said (verified_at, marketplace_ids and country_codes comma-separated,
-- store_name), the ops flag ('spapi_access_denied': SP-API answered 403 after a good refresh, a missing role;
-- 'region_mismatch': the seller does not participate in the row's marketplace, or only in another region's; never a
-- status), and the re-authorization reminder sent (reminded_threshold 30, 7 or 0 = expired, for reminded_for_grant =
-- the auth_granted_date it was about, so each threshold is announced once per grant). The SQLite schema makes the same
-- table in its step SCHEMA_V7 (src/store/sqliteStore.ts).
-- Also: sp_api_auth_attempts.flow may be 'self_authorization' (`npm run ops -- import-refresh-token`: a refresh token a
-- seller made for a private app in Seller Central); the value is 18 characters, so the column goes from VARCHAR(16) to
-- VARCHAR(32). SQLite's flow column has no CHECK and no length, so its step needs no change for this.
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations; idempotent when run by hand (the table
-- is created only while missing).
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3 (a plain CREATE TABLE with its
-- constraints; no index beyond the primary key: the sweep reads by key). Dates are UTC (DATETIME2(3)). Lengths match
-- CHECK_LIMITS in src/sweep/checks.ts. The flow CHECK names the column, so it is dropped (while it lacks the new value)
-- before ALTER COLUMN and added again after; ALTER COLUMN names no NULL (Babelfish 4.x refuses it, see 005) and keeps
-- the column's binary collation; with ANSI_NULL_DFLT_ON ON the column would turn nullable, so the new CHECK states
-- `flow IS NOT NULL` itself (a CHECK passes an unknown, so IN alone would let NULL through).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_NULL_DFLT_ON ON;

-- sp_api_auth_attempts.flow: + 'self_authorization', VARCHAR(32)
IF EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
    AND definition NOT LIKE N'%''self_authorization''%'
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts] DROP CONSTRAINT ck_sp_api_auth_attempts_flow;
END;

IF COL_LENGTH(N'[{{schema}}].[sp_api_auth_attempts]', N'flow') < 32
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts] ALTER COLUMN flow VARCHAR(32) COLLATE Latin1_General_100_BIN2;
END;

IF NOT EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts]
    ADD CONSTRAINT ck_sp_api_auth_attempts_flow
      CHECK (flow IS NOT NULL AND flow IN ('website', 'reauthorize', 'appstore', 'callback', 'refresh', 'ops', 'self_authorization'));
END;

IF OBJECT_ID(N'[{{schema}}].[sp_api_credential_checks]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[sp_api_credential_checks] (
    customer_id          NVARCHAR(64)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    region               VARCHAR(2)     COLLATE Latin1_General_100_BIN2 NOT NULL,
    lease_until          DATETIME2(3)   NULL,
    checked_at           DATETIME2(3)   NULL,
    check_outcome        VARCHAR(24)    COLLATE Latin1_General_100_BIN2 NULL,
    check_error          NVARCHAR(500)  NULL,
    verified_at          DATETIME2(3)   NULL,
    marketplace_ids      VARCHAR(1000)  NULL,
    country_codes        VARCHAR(400)   NULL,
    store_name           NVARCHAR(200)  NULL,
    flag                 VARCHAR(32)    COLLATE Latin1_General_100_BIN2 NULL,
    reminded_threshold   INT            NULL,
    reminded_for_grant   DATETIME2(3)   NULL,
    CONSTRAINT pk_sp_api_credential_checks PRIMARY KEY CLUSTERED (customer_id, region),
    CONSTRAINT ck_sp_api_credential_checks_region CHECK (region IN ('NA', 'EU', 'FE')),
    CONSTRAINT ck_sp_api_credential_checks_outcome
      CHECK (check_outcome IN ('verified', 'region_mismatch', 'access_denied', 'revoked', 'rate_limited', 'error')),
    CONSTRAINT ck_sp_api_credential_checks_flag CHECK (flag IN ('spapi_access_denied', 'region_mismatch')),
    CONSTRAINT ck_sp_api_credential_checks_threshold CHECK (reminded_threshold IN (30, 7, 0))
  );
END;
