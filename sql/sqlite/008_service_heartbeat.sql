-- Version 8 (sql/009_service_heartbeat.sql): the heartbeat row /api/health writes, so health sees a store that
-- refuses writes. One row, id 1, seeded here.
CREATE TABLE IF NOT EXISTS service_heartbeat (
  id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  beat_at TEXT NOT NULL
);
INSERT OR IGNORE INTO service_heartbeat (id, beat_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
