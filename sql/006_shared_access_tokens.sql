-- 006_shared_access_tokens
-- Why: every instance of the service used to refresh each seller's access token for itself (N instances, up to N
-- LWA refreshes per seller and hour, all at once on a cold start). sp_api_access_tokens holds ONE access token per
-- (customer, region) for the whole fleet, with the credential generation that made it (src/accessTokens/
-- accessTokenCache.ts credentialGeneration: status|selling_partner_id|hash of the refresh-token envelope, so a
-- revoked or re-authorized credential never gets the old token), and a refresh lease: lease_owner (an instance's
-- random id) and lease_until (after which any instance may claim it: its owner is presumed dead). Only the lease
-- holder asks LWA; the others wait for its write. access_token is a TokenCipher envelope (AES-256-GCM, AAD column
-- 'access_token'), never plain text. refreshed_at: when the token was last written (a lease claim leaves it alone).
-- The SQLite schema makes the same change as its version 5 (src/store/sqliteStore.ts, SCHEMA_V5).
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations. Idempotent when run by hand: the table
-- is created only while missing.
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3 (no index beyond the primary key,
-- no lock hints, no MERGE). No FOREIGN KEY to sp_api_credentials: rows are written only beside an existing
-- credential row (the lease claim INSERTs from it), and a row left behind by an unlinked credential is harmless (its
-- generation no longer matches). Identifier columns are BIN2, as in 001, so they compare exactly.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

IF OBJECT_ID(N'[{{schema}}].[sp_api_access_tokens]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[sp_api_access_tokens] (
    customer_id            NVARCHAR(64)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    region                 VARCHAR(2)     COLLATE Latin1_General_100_BIN2 NOT NULL,
    credential_generation  VARCHAR(160)   COLLATE Latin1_General_100_BIN2 NULL,
    access_token           VARCHAR(8000)  NULL,
    expires_at             DATETIME2(3)   NULL,
    refreshed_at           DATETIME2(3)   NULL,
    lease_owner            VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    lease_until            DATETIME2(3)   NULL,
    updated_at             DATETIME2(3)   NOT NULL,
    CONSTRAINT pk_sp_api_access_tokens PRIMARY KEY CLUSTERED (customer_id, region),
    CONSTRAINT ck_sp_api_access_tokens_region CHECK (region IN ('NA', 'EU', 'FE'))
  );
END;
