-- 004_ops_view
-- Why: (1) the Login-URI flows: Seller Central's Re-Authorize ('reauthorize') and a first install from the Appstore
-- ('appstore') start an attempt for a seller Amazon has named, and the callback must return that seller, so the
-- attempt records it in expected_selling_partner_id, and ck_sp_api_auth_attempts_flow gains both flows. (2) the ops
-- view sp_api_credentials_status for SSMS: one row per credential row, never a secret column (no lwa_refresh_token,
-- spapi_oauth_code, mws_auth_token), with the deadline Amazon sets for re-authorizing (auth_granted_date + 365 days,
-- authorized rows only), the whole days left to it (floored: -1 once less than a day past), status 'expired' once
-- it has passed, and the newest attempt of that customer and region (by created_at, then attempt_id). The SQLite
-- schema makes the same change as its version 3 (src/store/sqliteStore.ts), with the same view and columns.
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations. Idempotent when run by hand: the column
-- is added only while missing (a sys.columns guard: Babelfish 4.3 fails COL_LENGTH inside db:migrate's transaction), the constraint is dropped only while its definition lacks 'appstore' and added only
-- while missing, and the view is dropped when present and created again.
-- Notes: statements valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3, so no CREATE OR ALTER
-- VIEW and no WITH CHECK ADD: IF OBJECT_ID(view) IS NOT NULL DROP VIEW, then CREATE VIEW; a plain
-- ALTER TABLE ... ADD CONSTRAINT, checked against existing rows all the same (see 003 on the definition test).
-- Dropping the view drops permissions granted on it by name; the app reads through db_datareader, which is
-- unaffected. CREATE VIEW must be the first statement of its batch, so it runs through EXEC (a batch of its own,
-- compiled when it runs, i.e. after the column was added: a static statement naming the new column would fail to
-- compile with this batch). The view reads SYSUTCDATETIME(); SqlServerStore.listCredentialStatus selects from the
-- view but recomputes status and days_left with the caller's @now (same expressions), so the app's clock decides
-- there and every other rule lives in the view only. days_left counts milliseconds (DATEDIFF_BIG) and floors whole
-- days in integer arithmetic: DATEDIFF(day, ...) counts midnights crossed, which would not match SQLite. The view is
-- not SCHEMABINDING, so later migrations can alter the tables; it names its columns, so it never picks up a new one
-- (a secret column included) by itself. A table rebuild in a later migration must recreate the view.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

-- sp_api_auth_attempts.expected_selling_partner_id: the seller a Login-URI flow expects back
IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]') AND name = N'expected_selling_partner_id')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts]
    ADD expected_selling_partner_id VARCHAR(64) COLLATE Latin1_General_100_BIN2 NULL;
END;

-- sp_api_auth_attempts.flow: + 'reauthorize', 'appstore'
IF EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
    AND definition NOT LIKE N'%''appstore''%'
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
    ADD CONSTRAINT ck_sp_api_auth_attempts_flow CHECK (flow IN ('website', 'reauthorize', 'appstore', 'callback', 'refresh'));
END;

-- The ops view, made afresh. Inside the string, quotes are doubled.
IF OBJECT_ID(N'[{{schema}}].[sp_api_credentials_status]', N'V') IS NOT NULL
BEGIN
  DROP VIEW [{{schema}}].[sp_api_credentials_status];
END;

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
  l.outcome AS last_attempt_outcome,
  l.reason AS last_attempt_reason
FROM [{{schema}}].[sp_api_credentials] AS c
CROSS APPLY (
  SELECT CASE WHEN c.status = ''authorized'' THEN DATEADD(day, 365, c.auth_granted_date) END AS reauthorize_by
) AS d
CROSS APPLY (
  SELECT DATEDIFF_BIG(millisecond, SYSUTCDATETIME(), d.reauthorize_by) AS ms_left
) AS m
OUTER APPLY (
  SELECT TOP (1) a.created_at, a.outcome, a.reason
  FROM [{{schema}}].[sp_api_auth_attempts] AS a
  WHERE a.customer_id = c.customer_id AND a.region = c.region
  ORDER BY a.created_at DESC, a.attempt_id DESC
) AS l;
');
