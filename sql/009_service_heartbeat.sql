-- 009_service_heartbeat
-- Why: /api/health must tell the truth about writes. A SELECT answers on a read-only database (or for a login that
-- lost its write rights) while every start and callback fails with storage_error, so health writes one small row
-- instead: service_heartbeat holds exactly one row (id = 1) whose beat_at each health check moves to now. The SQLite
-- schema makes the same change as its version 8 (src/store/sqliteStore.ts, SCHEMA_V8).
-- How it runs: src/store/migrations.ts replaces {{schema}} with the target schema (dbo in production), runs this
-- file as ONE batch inside a transaction and records it in schema_migrations. SqlServerStore.checkHealth names
-- 009_service_heartbeat as the newest migration the code needs (REQUIRED_MIGRATION), so health says when it is missing.
-- Idempotent when run by hand: the table (and its one row) is created only while missing.
-- Notes: valid on SQL Server 2016+ / Azure SQL and Babelfish for PostgreSQL 4.3: a plain CREATE TABLE inside
-- IF OBJECT_ID(...) IS NULL, no index besides the primary key, no secret column. The row is seeded here so the check
-- is a single UPDATE (no insert race between instances); the check inserts it again if someone deleted it.
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;

IF OBJECT_ID(N'[{{schema}}].[service_heartbeat]', N'U') IS NULL
BEGIN
  CREATE TABLE [{{schema}}].[service_heartbeat] (
    id      INT          NOT NULL CONSTRAINT pk_service_heartbeat PRIMARY KEY CONSTRAINT ck_service_heartbeat_id CHECK (id = 1),
    beat_at DATETIME2(3) NOT NULL
  );
  EXEC (N'INSERT INTO [{{schema}}].[service_heartbeat] (id, beat_at) VALUES (1, SYSUTCDATETIME());');
END;
