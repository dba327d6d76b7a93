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
-- before ALTER COLUMN and added again after; ALTER COLUMN names no NULL (Babelfish 4.x refuses it, see 005) and no
-- COLLATE (Babelfish 4.3 refuses it: "'COLLATE in ALTER TABLE ALTER COLUMN' is not currently supported"), so on both
-- servers flow takes the database's default collation (case-insensitive, usually) instead of BIN2. The new CHECK
-- compares under BIN2 itself, so it still refuses any value but the exact lowercase ones, as SQLite does; the app
-- writes only those, so comparisons in queries match the same rows either way. With ANSI_NULL_DFLT_ON ON the column
-- would turn nullable on SQL Server, so the CHECK also states `flow IS NOT NULL` (a CHECK passes an unknown, so IN
-- alone would let NULL through). Column guards read sys.columns, not COL_LENGTH (see 004). The ops view of 005 reads
-- flow, and Babelfish (PostgreSQL) will not alter a column a view uses, so the view is dropped first and created again
-- last, with 005's definition unchanged (dropping it drops permissions granted on it by name, see 004).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_NULL_DFLT_ON ON;

-- The ops view names sp_api_auth_attempts.flow: Babelfish refuses to alter the type of a column a view uses ("cannot
-- alter type of a column used by a view or rule"), so the view is dropped here and created again at the end.
IF OBJECT_ID(N'[{{schema}}].[sp_api_credentials_status]', N'V') IS NOT NULL
BEGIN
  DROP VIEW [{{schema}}].[sp_api_credentials_status];
END;

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

IF EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]') AND name = N'flow' AND max_length < 32)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts] ALTER COLUMN flow VARCHAR(32);
END;

IF NOT EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts]
    ADD CONSTRAINT ck_sp_api_auth_attempts_flow
      CHECK (flow IS NOT NULL AND flow COLLATE Latin1_General_100_BIN2 IN ('website', 'reauthorize', 'appstore', 'callback', 'refresh', 'ops', 'self_authorization'));
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

-- The ops view, made afresh as 005 defines it (unchanged). Inside the string, quotes are doubled.
EXEC (N'
CREATE VIEW [{{schema}}].[sp_api_credentials_status] AS
SELECT
  c.customer_id,
  c.region,
  c.marketplace,
  c.selling_partner_id,
  CAST(CASE WHEN m.ms_left < 0 THEN ''expired'' ELSE c.status END AS VARCHAR(16)) AS status,
  c.auth_requested_date,
  c.auth_granted_date,
  d.reauthorize_by,
  CAST(CASE
    WHEN m.ms_left IS NULL THEN NULL
    WHEN m.ms_left >= 0 THEN m.ms_left / 86400000
    ELSE -((86399999 - m.ms_left) / 86400000)
  END AS INT) AS days_left,
  c.last_error,
  l.created_at AS last_attempt_at,
  CAST(CASE
    WHEN l.outcome = ''pending'' AND l.exchange_deadline IS NULL AND l.expires_at <= SYSUTCDATETIME() THEN ''abandoned''
    WHEN l.outcome = ''pending'' AND l.exchange_deadline <= SYSUTCDATETIME() THEN ''interrupted''
    ELSE l.outcome
  END AS VARCHAR(16)) AS last_attempt_outcome,
  l.reason AS last_attempt_reason,
  l.expires_at AS last_attempt_expires_at,
  l.exchange_deadline AS last_attempt_exchange_deadline
FROM [{{schema}}].[sp_api_credentials] AS c
CROSS APPLY (
  SELECT CASE WHEN c.status = ''authorized'' THEN DATEADD(day, 365, c.auth_granted_date) END AS reauthorize_by
) AS d
CROSS APPLY (
  SELECT DATEDIFF_BIG(millisecond, SYSUTCDATETIME(), d.reauthorize_by) AS ms_left
) AS m
OUTER APPLY (
  SELECT TOP (1) a.created_at, a.outcome, a.reason, a.expires_at, a.exchange_deadline
  FROM [{{schema}}].[sp_api_auth_attempts] AS a
  WHERE a.customer_id = c.customer_id AND a.region = c.region
    AND (a.flow IN (''website'', ''appstore'') OR (a.flow = ''reauthorize'' AND a.consumed_at IS NOT NULL))
  ORDER BY a.created_at DESC, a.attempt_id DESC
) AS l;
');
