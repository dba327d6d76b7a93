-- 007_events
-- Why: the events outbox for oxWebApp (issue 11). Every change of a seller's authorization (granted, reauthorized,
-- revoked, failed, unlinked; and the credential sweep's expiring, expired, region_mismatch, access_denied) writes one
-- row here in the transaction of the change, so an event exists exactly when its change committed. `data` is JSON
-- without secrets. delivery_state ('pending', 'delivered', 'failed'), delivery_attempts, next_attempt_at (when to try
-- again; also the lease of a try in progress), delivered_at and last_delivery_error serve the Standard Webhooks
-- delivery (EVENTS_WEBHOOK_URL); without it the table is the interface (README: "Events for oxWebApp"). The SQLite
-- schema makes the same table in its step SCHEMA_V6 (src/store/sqliteStore.ts).
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations; idempotent when run by hand (the table
-- and its indexes are created together, only while the table is missing).
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3 (no sys.indexes lookups: the indexes
-- live in the block that creates the table). Dates are UTC (DATETIME2(3)). Lengths match src/events/events.ts and
-- LIMITS in src/store/credentialStore.ts. The queue index serves "the oldest pending event of each (customer,
-- region)", the occurred_at index the retention purge of delivered events.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

IF OBJECT_ID(N'[{{schema}}].[sp_api_events]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[sp_api_events] (
    event_id             BIGINT IDENTITY(1, 1) NOT NULL,
    event_type           VARCHAR(40)    COLLATE Latin1_General_100_BIN2 NOT NULL,
    customer_id          NVARCHAR(64)   COLLATE Latin1_General_100_BIN2 NOT NULL,
    region               VARCHAR(2)     COLLATE Latin1_General_100_BIN2 NOT NULL,
    selling_partner_id   VARCHAR(64)    COLLATE Latin1_General_100_BIN2 NULL,
    occurred_at          DATETIME2(3)   NOT NULL,
    data                 NVARCHAR(4000) NOT NULL,
    delivery_state       VARCHAR(16)    COLLATE Latin1_General_100_BIN2 NOT NULL CONSTRAINT df_sp_api_events_state DEFAULT ('pending'),
    delivery_attempts    INT            NOT NULL CONSTRAINT df_sp_api_events_attempts DEFAULT (0),
    next_attempt_at      DATETIME2(3)   NULL,
    delivered_at         DATETIME2(3)   NULL,
    last_delivery_error  NVARCHAR(500)  NULL,
    CONSTRAINT pk_sp_api_events PRIMARY KEY CLUSTERED (event_id),
    CONSTRAINT ck_sp_api_events_region CHECK (region IN ('NA', 'EU', 'FE')),
    CONSTRAINT ck_sp_api_events_state CHECK (delivery_state IN ('pending', 'delivered', 'failed')),
    CONSTRAINT ck_sp_api_events_attempts CHECK (delivery_attempts >= 0)
  );

  CREATE NONCLUSTERED INDEX ix_sp_api_events_queue
    ON [{{schema}}].[sp_api_events] (customer_id, region, delivery_state, event_id);

  CREATE NONCLUSTERED INDEX ix_sp_api_events_occurred
    ON [{{schema}}].[sp_api_events] (occurred_at);
END;
