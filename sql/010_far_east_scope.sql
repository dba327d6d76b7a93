-- 010_far_east_scope
-- Why: Amazon authorizes JP, AU and SG one by one (each its own consent, refresh token and often selling partner id),
-- while NA and EU are authorized once per region. A credential is now keyed by (customer_id, scope): scope is the
-- region for NA and EU and the marketplace in the Far East. Every table keyed by (customer_id, region) gets a scope
-- column and is keyed by it; region stays, derived from the scope. Existing FE rows take their marketplace as their
-- scope (JP when it is not one of the three). Also: sp_api_credentials.refresh_token_fingerprint (a keyed hash of the
-- refresh token, never the token: one token belongs to one credential), partner_claimed_until (a callback claims its
-- seller until its exchange deadline, so a concurrent callback of another customer is refused before it spends its
-- code) and revoked_at (when LWA refused the token: the sweep proves a revoked token again for 30 days); the events
-- outbox carries the service's own events (service.incident_*: customer_id, region and scope '', as Babelfish
-- cannot make a NOT NULL column nullable); service_incidents holds the latest app-wide incident of each kind. The ops
-- view shows the scope, revoked_at and has_refresh_token.
-- The SQLite schema makes the same change as its step 009 (sql/sqlite/009_far_east_scope.sql).
-- How it runs: src/store/mssql/migrations.ts replaces {{schema}} with the target schema, runs this file as ONE
-- batch inside a transaction and records it in schema_migrations. Idempotent when run by hand: each table's block
-- runs only while its scope column is missing.
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3: statements naming a column this
-- batch adds run through EXEC (they compile when they run); a new NOT NULL column comes with a DEFAULT of '' that its
-- CHECK refuses, so a row written without a scope fails (Babelfish keeps no named DEFAULT constraint to drop); keys
-- are dropped and added by name; indexes are dropped and created in the block that adds their column.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_NULL_DFLT_ON ON;

IF OBJECT_ID(N'[{{schema}}].[sp_api_credentials_status]', N'V') IS NOT NULL
BEGIN
  DROP VIEW [{{schema}}].[sp_api_credentials_status];
END;

IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credentials]') AND name = N'scope')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_credentials]
    ADD scope VARCHAR(2) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_sp_api_credentials_scope DEFAULT ('');
  ALTER TABLE [{{schema}}].[sp_api_credentials] ADD refresh_token_fingerprint VARCHAR(80) COLLATE Latin1_General_100_BIN2 NULL;
  ALTER TABLE [{{schema}}].[sp_api_credentials] ADD partner_claimed_until DATETIME2(3) NULL;
  ALTER TABLE [{{schema}}].[sp_api_credentials] ADD revoked_at DATETIME2(3) NULL;
  EXEC (N'UPDATE [{{schema}}].[sp_api_credentials]
    SET scope = CASE WHEN region <> ''FE'' THEN region WHEN marketplace IN (''JP'', ''AU'', ''SG'') THEN marketplace ELSE ''JP'' END,
        revoked_at = CASE WHEN status = ''revoked'' THEN updated_at END');
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_credentials] ADD CONSTRAINT ck_sp_api_credentials_scope
    CHECK ((region = ''FE'' AND scope IN (''JP'', ''AU'', ''SG'')) OR (region IN (''NA'', ''EU'') AND scope = region))');
  ALTER TABLE [{{schema}}].[sp_api_credentials] DROP CONSTRAINT pk_sp_api_credentials;
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_credentials] ADD CONSTRAINT pk_sp_api_credentials PRIMARY KEY CLUSTERED (customer_id, scope)');
  DROP INDEX ux_sp_api_credentials_partner ON [{{schema}}].[sp_api_credentials];
  EXEC (N'CREATE UNIQUE NONCLUSTERED INDEX ux_sp_api_credentials_partner
    ON [{{schema}}].[sp_api_credentials] (selling_partner_id, scope) WHERE selling_partner_id IS NOT NULL');
  EXEC (N'CREATE UNIQUE NONCLUSTERED INDEX ux_sp_api_credentials_fingerprint
    ON [{{schema}}].[sp_api_credentials] (refresh_token_fingerprint) WHERE refresh_token_fingerprint IS NOT NULL');
END;

IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]') AND name = N'scope')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts] ADD scope VARCHAR(2) COLLATE Latin1_General_100_BIN2 NULL;
  EXEC (N'UPDATE [{{schema}}].[sp_api_auth_attempts]
    SET scope = CASE WHEN region IS NULL THEN NULL WHEN region <> ''FE'' THEN region
                     WHEN marketplace IN (''JP'', ''AU'', ''SG'') THEN marketplace ELSE ''JP'' END');
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_auth_attempts] ADD CONSTRAINT ck_sp_api_auth_attempts_scope
    CHECK ((region IS NULL AND scope IS NULL) OR (region = ''FE'' AND scope IN (''JP'', ''AU'', ''SG'')) OR (region IN (''NA'', ''EU'') AND scope = region))');
  DROP INDEX ix_sp_api_auth_attempts_customer ON [{{schema}}].[sp_api_auth_attempts];
  EXEC (N'CREATE NONCLUSTERED INDEX ix_sp_api_auth_attempts_customer ON [{{schema}}].[sp_api_auth_attempts] (customer_id, scope, created_at)');
END;

IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_access_tokens]') AND name = N'scope')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_access_tokens]
    ADD scope VARCHAR(2) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_sp_api_access_tokens_scope DEFAULT ('');
  -- Disposable rows (a miss costs one refresh): the Far East ones are dropped rather than guessed.
  EXEC (N'DELETE FROM [{{schema}}].[sp_api_access_tokens] WHERE region = ''FE''');
  EXEC (N'UPDATE [{{schema}}].[sp_api_access_tokens] SET scope = region');
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_access_tokens] ADD CONSTRAINT ck_sp_api_access_tokens_scope
    CHECK ((region = ''FE'' AND scope IN (''JP'', ''AU'', ''SG'')) OR (region IN (''NA'', ''EU'') AND scope = region))');
  ALTER TABLE [{{schema}}].[sp_api_access_tokens] DROP CONSTRAINT pk_sp_api_access_tokens;
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_access_tokens] ADD CONSTRAINT pk_sp_api_access_tokens PRIMARY KEY CLUSTERED (customer_id, scope)');
END;

IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credential_checks]') AND name = N'scope')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_credential_checks]
    ADD scope VARCHAR(2) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_sp_api_credential_checks_scope DEFAULT ('');
  EXEC (N'UPDATE k SET scope = c.scope
    FROM [{{schema}}].[sp_api_credential_checks] AS k
    JOIN [{{schema}}].[sp_api_credentials] AS c ON c.customer_id = k.customer_id AND c.region = k.region');
  EXEC (N'DELETE FROM [{{schema}}].[sp_api_credential_checks] WHERE scope = ''''');
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_credential_checks] ADD CONSTRAINT ck_sp_api_credential_checks_scope
    CHECK ((region = ''FE'' AND scope IN (''JP'', ''AU'', ''SG'')) OR (region IN (''NA'', ''EU'') AND scope = region))');
  ALTER TABLE [{{schema}}].[sp_api_credential_checks] DROP CONSTRAINT pk_sp_api_credential_checks;
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_credential_checks] ADD CONSTRAINT pk_sp_api_credential_checks PRIMARY KEY CLUSTERED (customer_id, scope)');
END;

IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_events]') AND name = N'scope')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_events]
    ADD scope VARCHAR(2) COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_sp_api_events_scope DEFAULT ('');
  EXEC (N'UPDATE e SET scope = COALESCE(c.scope, CASE WHEN e.region <> ''FE'' THEN e.region ELSE ''JP'' END)
    FROM [{{schema}}].[sp_api_events] AS e
    LEFT JOIN [{{schema}}].[sp_api_credentials] AS c ON c.customer_id = e.customer_id AND c.region = e.region');
  ALTER TABLE [{{schema}}].[sp_api_events] DROP CONSTRAINT ck_sp_api_events_region;
  EXEC (N'ALTER TABLE [{{schema}}].[sp_api_events] ADD CONSTRAINT ck_sp_api_events_scope
    CHECK ((customer_id = N'''' AND region = '''' AND scope = '''')
        OR (region = ''FE'' AND scope IN (''JP'', ''AU'', ''SG'')) OR (region IN (''NA'', ''EU'') AND scope = region))');
  DROP INDEX ix_sp_api_events_queue ON [{{schema}}].[sp_api_events];
  EXEC (N'CREATE NONCLUSTERED INDEX ix_sp_api_events_queue ON [{{schema}}].[sp_api_events] (customer_id, scope, delivery_state, event_id)');
END;

IF OBJECT_ID(N'[{{schema}}].[service_incidents]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[service_incidents] (
    kind          VARCHAR(40)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    opened_at     DATETIME2(3)  NOT NULL,
    last_seen_at  DATETIME2(3)  NOT NULL,
    ended_at      DATETIME2(3)  NULL,
    seen_count    INT           NOT NULL,
    detail        NVARCHAR(500) NULL,
    CONSTRAINT pk_service_incidents PRIMARY KEY CLUSTERED (kind),
    CONSTRAINT ck_service_incidents_kind CHECK (kind IN ('lwa_client_rejected', 'spapi_denied_for_all')),
    CONSTRAINT ck_service_incidents_seen CHECK (seen_count >= 1)
  );
END;

EXEC (N'
CREATE VIEW [{{schema}}].[sp_api_credentials_status] AS
SELECT
  c.customer_id,
  c.scope,
  c.region,
  c.marketplace,
  c.selling_partner_id,
  CAST(CASE WHEN m.ms_left < 0 THEN ''expired'' ELSE c.status END AS VARCHAR(16)) AS status,
  c.auth_requested_date,
  c.auth_granted_date,
  c.revoked_at,
  CAST(CASE WHEN c.lwa_refresh_token IS NULL THEN 0 ELSE 1 END AS BIT) AS has_refresh_token,
  d.reauthorize_by,
  CAST(CASE
    WHEN m.ms_left IS NULL THEN NULL
    WHEN m.ms_left >= 0 THEN m.ms_left / 86400000
    ELSE -((86399999 - m.ms_left) / 86400000)
  END AS INT) AS days_left,
  c.last_error,
  l.created_at AS last_attempt_at,
  CAST(CASE
    WHEN l.outcome = ''pending'' AND l.consumed_at IS NULL AND l.expires_at <= SYSUTCDATETIME() THEN ''abandoned''
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
  SELECT TOP (1) a.created_at, a.outcome, a.reason, a.expires_at, a.consumed_at, a.exchange_deadline
  FROM [{{schema}}].[sp_api_auth_attempts] AS a
  WHERE a.customer_id = c.customer_id AND a.scope = c.scope
    AND (a.flow IN (''website'', ''appstore'') OR (a.flow = ''reauthorize'' AND a.consumed_at IS NOT NULL))
  ORDER BY a.created_at DESC, a.attempt_id DESC
) AS l;
');
