-- 005_truthful_record
-- Why: the record says what is true, as the SQLite schema's version 4 does (src/store/sqliteStore.ts, SCHEMA_V4).
-- (1) sp_api_credentials: status may be 'unlinked' (`npm run ops -- unlink`); lwa_refresh_token holds up to 8000
--     characters (the envelope of the longest refresh token the LWA client accepts); mws_auth_token holds a TokenCipher
--     envelope (up to 1024 characters) instead of the plain token.
-- (2) sp_api_auth_attempts: flow may be 'ops' (the audit of an unlink); exchange_deadline (set when the state is
--     consumed: a pending attempt past it reads 'interrupted') and refusal_count (refused callbacks recorded against
--     the attempt, at most 20; CHECK >= 0). Attempts that older code consumed and never finished get a deadline 10
--     minutes after consumption, so they read 'interrupted' too. An index on created_at serves the purge
--     (`npm run ops -- purge`) and the recent-attempts listing.
-- (3) the ops view sp_api_credentials_status: the last attempt is the newest one STARTED for the row (website,
--     appstore, and reauthorize once a callback consumed it: the Login URI is anonymous, and an unanswered request
--     there must not hide a real outcome; by created_at, then attempt_id), so refused callbacks, revocation audits
--     and ops actions never replace it; its outcome reads 'abandoned' (pending, no exchange deadline, past expires_at) or
--     'interrupted' (pending, past exchange_deadline) by SYSUTCDATETIME(), and the view also shows that attempt's
--     expires_at and exchange_deadline, from which SqlServerStore.listCredentialStatus recomputes the outcome with
--     the caller's @now.
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations. `npm run db:migrate` then seals the
-- plain MWS tokens already stored (sealPlainMwsTokens, src/crypto/reencryptSecrets.ts) when TOKEN_ENCRYPTION_KEYS is
-- configured, and otherwise says that `npm run tokens:reencrypt` must run: the database has no keys, so this file
-- cannot. Until then a plain token stays readable as it was (the app tells plain from sealed by the envelope prefix).
-- Idempotent when run by hand: a constraint is dropped only while its definition lacks the new value and added only
-- while missing; a column is altered only while shorter (sys.columns.max_length, in bytes: NVARCHAR(256) is 512) and
-- added only while missing; the view is dropped when present and created again. The column guards read sys.columns,
-- not COL_LENGTH: Babelfish 4.3 fails COL_LENGTH inside a transaction run through sp_executesql, as db:migrate runs
-- this file (the guards were rewritten so; servers that applied the file already are unaffected: same effect).
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3 (see 003 and 004): plain ADD
-- CONSTRAINT, DROP VIEW + EXEC (CREATE VIEW), and the new index created in the block that adds exchange_deadline (the
-- column test is the guard both servers answer alike; Babelfish keeps index names its own way). Statements naming a
-- column this batch adds run through EXEC (compiled when they run): a static statement would fail to compile with
-- the batch. mws_auth_token goes from NVARCHAR to VARCHAR: Amazon's MWS tokens (amzn.mws.<uuid>) and envelopes are
-- ASCII. The envelope columns keep the database's default collation, as in 001 (ALTER COLUMN without COLLATE), and
-- stay NULL. The view is dropped first, before the columns change, and created last; it names its columns, never a
-- secret one. ALTER COLUMN names no NULL: Babelfish before 5.x refuses NULL / NOT NULL there (babelfish_extensions
-- issues #228, #2771; AWS "T-SQL differences in Babelfish"), and SQL Server takes the nullability of a column whose
-- ALTER COLUMN names none from ANSI_NULL_DFLT_ON, set ON below (tedious's default too; Babelfish accepts only ON).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_NULL_DFLT_ON ON;

IF OBJECT_ID(N'[{{schema}}].[sp_api_credentials_status]', N'V') IS NOT NULL
BEGIN
  DROP VIEW [{{schema}}].[sp_api_credentials_status];
END;

-- sp_api_credentials.status: + 'unlinked'
IF EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_credentials_status'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credentials]')
    AND definition NOT LIKE N'%''unlinked''%'
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
    ADD CONSTRAINT ck_sp_api_credentials_status CHECK (status IN ('pending', 'authorized', 'failed', 'revoked', 'unlinked'));
END;

-- sp_api_credentials: envelope columns wide enough
IF EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credentials]') AND name = N'lwa_refresh_token' AND max_length < 8000)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_credentials] ALTER COLUMN lwa_refresh_token VARCHAR(8000);
END;

IF EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_credentials]') AND name = N'mws_auth_token' AND max_length < 1024)
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_credentials] ALTER COLUMN mws_auth_token VARCHAR(1024);
END;

-- sp_api_auth_attempts.flow: + 'ops'
IF EXISTS (
  SELECT 1 FROM sys.check_constraints
  WHERE name = N'ck_sp_api_auth_attempts_flow'
    AND parent_object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]')
    AND definition NOT LIKE N'%''ops''%'
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
    ADD CONSTRAINT ck_sp_api_auth_attempts_flow CHECK (flow IN ('website', 'reauthorize', 'appstore', 'callback', 'refresh', 'ops'));
END;

-- sp_api_auth_attempts.exchange_deadline, the deadline of attempts consumed before it existed, and the created_at index
IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]') AND name = N'exchange_deadline')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts] ADD exchange_deadline DATETIME2(3) NULL;

  EXEC (N'
UPDATE [{{schema}}].[sp_api_auth_attempts]
  SET exchange_deadline = DATEADD(minute, 10, consumed_at)
  WHERE outcome = ''pending'' AND consumed_at IS NOT NULL;
');

  CREATE NONCLUSTERED INDEX ix_sp_api_auth_attempts_created
    ON [{{schema}}].[sp_api_auth_attempts] (created_at);
END;

-- sp_api_auth_attempts.refusal_count: existing rows start from the refused callbacks old code recorded against them
-- (so the bound of 20 counts those too); the others from the default, 0.
IF NOT EXISTS (SELECT 1 FROM sys.columns WHERE object_id = OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]') AND name = N'refusal_count')
BEGIN
  ALTER TABLE [{{schema}}].[sp_api_auth_attempts]
    ADD refusal_count INT NOT NULL
      CONSTRAINT df_sp_api_auth_attempts_refusal_count DEFAULT 0
      CONSTRAINT ck_sp_api_auth_attempts_refusal_count CHECK (refusal_count >= 0);

  EXEC (N'
UPDATE a
  SET refusal_count = r.refused
  FROM [{{schema}}].[sp_api_auth_attempts] AS a
  JOIN (
    SELECT related_attempt_id, COUNT(*) AS refused
    FROM [{{schema}}].[sp_api_auth_attempts]
    WHERE flow = ''callback'' AND outcome = ''refused'' AND related_attempt_id IS NOT NULL
    GROUP BY related_attempt_id
  ) AS r ON r.related_attempt_id = a.attempt_id;
');
END;

-- The ops view, made afresh. Inside the string, quotes are doubled.
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
