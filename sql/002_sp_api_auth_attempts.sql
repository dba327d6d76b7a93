-- 002_sp_api_auth_attempts
-- Why: one row per consent attempt (flow 'website', started by AuthorizeStart) and per refused callback (flow
-- 'callback'). The OAuth state is stored only as its SHA-256 (state_hash); the filtered unique index on it lets a
-- state be found and consumed once (a single conditional UPDATE), while refused callbacks, which have no state,
-- keep NULL there. Same table, columns and indexes as the SQLite SCHEMA in src/store/sqliteStore.ts.
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations; idempotent when run by hand (the table
-- and its indexes are created together, only while the table is missing: no sys.indexes name lookup, as Babelfish for
-- PostgreSQL keeps index names its own way; valid on SQL Server 2016+ / Azure SQL and Babelfish 4.3).
-- Notes: dates are UTC (DATETIME2(3)). Lengths match LIMITS in src/store/credentialStore.ts (hashes are 64 hex
-- characters). related_attempt_id has no foreign key, as in SQLite. Filtered index: ANSI_NULLS and
-- QUOTED_IDENTIFIER must be ON (set below; with sqlcmd also pass -I).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

IF OBJECT_ID(N'[{{schema}}].[sp_api_auth_attempts]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[sp_api_auth_attempts] (
    attempt_id             BIGINT IDENTITY(1, 1) NOT NULL,
    state_hash             VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    browser_binding_hash   VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    flow                   VARCHAR(16)    COLLATE Latin1_General_100_BIN2 NOT NULL,
    customer_id            NVARCHAR(64)   COLLATE Latin1_General_100_BIN2 NULL,
    region                 VARCHAR(2)     COLLATE Latin1_General_100_BIN2 NULL,
    marketplace            VARCHAR(2)     NULL,
    selling_partner_id     VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    code_hash              VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    created_at             DATETIME2(3)   NOT NULL,
    expires_at             DATETIME2(3)   NULL,
    consumed_at            DATETIME2(3)   NULL,
    completed_at           DATETIME2(3)   NULL,
    outcome                VARCHAR(16)    COLLATE Latin1_General_100_BIN2 NOT NULL,
    reason                 NVARCHAR(1000) NULL,
    lwa_error              NVARCHAR(64)   NULL,
    lwa_error_description  NVARCHAR(500)  NULL,
    related_attempt_id     BIGINT         NULL,
    CONSTRAINT pk_sp_api_auth_attempts PRIMARY KEY CLUSTERED (attempt_id),
    CONSTRAINT ck_sp_api_auth_attempts_flow CHECK (flow IN ('website', 'callback')),
    CONSTRAINT ck_sp_api_auth_attempts_outcome CHECK (outcome IN ('pending', 'succeeded', 'failed', 'refused'))
  );

  CREATE UNIQUE NONCLUSTERED INDEX ux_sp_api_auth_attempts_state
    ON [{{schema}}].[sp_api_auth_attempts] (state_hash)
    WHERE state_hash IS NOT NULL;

  CREATE NONCLUSTERED INDEX ix_sp_api_auth_attempts_customer
    ON [{{schema}}].[sp_api_auth_attempts] (customer_id, region, created_at);
END;
