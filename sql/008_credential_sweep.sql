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
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations; idempotent when run by hand (the table
-- is created only while missing).
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3 (a plain CREATE TABLE with its
-- constraints; no index beyond the primary key: the sweep reads by key). Dates are UTC (DATETIME2(3)). Lengths match
-- CHECK_LIMITS in src/sweep/checks.ts.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

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
