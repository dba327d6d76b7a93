-- 001_sp_api_credentials
-- Why: one row per (Shipica customer, SP-API region) holding that seller's authorization: the LWA refresh token
-- (a TokenCipher envelope, never plain text), the consent flow's state, dates and last error. Same table, columns
-- and indexes as the SQLite SCHEMA in src/store/sqliteStore.ts; the contract suite (test/contract) pins both.
-- How it runs: src/store/migrations.ts (npm run db:migrate) replaces {{schema}} with the target schema (dbo in
-- production), runs this file as ONE batch inside a transaction and records it in schema_migrations. The file is
-- also idempotent (the table and its index are created together, only while the table is missing), so running it by
-- hand twice is harmless. Written for both SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3: the index
-- is guarded by its table's OBJECT_ID, not by a sys.indexes name lookup (Babelfish keeps index names its own way).
-- Notes: dates are UTC (DATETIME2(3), the app writes JS Dates with useUTC). Identifier columns are BIN2 so they
-- compare exactly as in SQLite (case-sensitive: the token envelope is bound to the exact customer_id). The filtered
-- unique index lets one row per region hold a selling partner and needs ANSI_NULLS and QUOTED_IDENTIFIER ON (set
-- below, and the tedious defaults); with sqlcmd also pass -I.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

IF OBJECT_ID(N'[{{schema}}].[sp_api_credentials]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[sp_api_credentials] (
    customer_id            NVARCHAR(64)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    region                 VARCHAR(2)     COLLATE Latin1_General_100_BIN2 NOT NULL,
    marketplace            VARCHAR(2)     NULL,
    selling_partner_id     VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    mws_auth_token         NVARCHAR(256)  NULL,
    spapi_oauth_code       VARCHAR(1024)  NULL,
    lwa_refresh_token      VARCHAR(4000)  NULL,
    status                 VARCHAR(16)    COLLATE Latin1_General_100_BIN2 NOT NULL,
    last_error             NVARCHAR(1000) NULL,
    auth_requested_date    DATETIME2(3)   NULL,
    auth_granted_date      DATETIME2(3)   NULL,
    lwa_refresh_token_date DATETIME2(3)   NULL,
    updated_at             DATETIME2(3)   NOT NULL,
    CONSTRAINT pk_sp_api_credentials PRIMARY KEY CLUSTERED (customer_id, region),
    CONSTRAINT ck_sp_api_credentials_customer_id CHECK (DATALENGTH(customer_id) > 0),
    CONSTRAINT ck_sp_api_credentials_region CHECK (region IN ('NA', 'EU', 'FE')),
    CONSTRAINT ck_sp_api_credentials_status CHECK (status IN ('pending', 'authorized', 'failed'))
  );

  CREATE UNIQUE NONCLUSTERED INDEX ux_sp_api_credentials_partner
    ON [{{schema}}].[sp_api_credentials] (selling_partner_id, region)
    WHERE selling_partner_id IS NOT NULL;
END;
