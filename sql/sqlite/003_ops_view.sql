-- Version 3, as sql/004_ops_view.sql does for SQL Server: (1) the Login-URI flows ('reauthorize', 'appstore') record
-- the seller Amazon named on the attempt, expected_selling_partner_id (flow has no CHECK in SQLite, so the new flows
-- need no change; the length CHECK matches SQL Server's VARCHAR(64)); (2) the ops view sp_api_credentials_status,
-- for `sqlite3 .data/local.sqlite "SELECT * FROM sp_api_credentials_status"`: one row per credential row, never a
-- secret column, with the re-authorization deadline Amazon sets (auth_granted_date + 365 days, authorized rows
-- only), the whole days left to it (floored: negative once past), status 'expired' once it has passed, and the
-- newest attempt of that customer and region (by created_at, then attempt_id).
--
-- The view is for people (sqlite3, DB browsers) and reads SQLite's clock ('now'); the code never reads it: the ops
-- view is computed from the stored facts by credentials/deadlines.ts (statusRowAt), and a migration test holds this
-- view to that rule.
-- Milliseconds are rounded before the days are floored: julianday differences are floating point, and 355 days
-- could otherwise come out as 354.9999999 days.
--
-- A later step that rebuilds either table (the V2 procedure) must DROP VIEW sp_api_credentials_status first and
-- create it again afterwards: ALTER TABLE ... RENAME checks the views that name the tables.
ALTER TABLE sp_api_auth_attempts ADD COLUMN expected_selling_partner_id TEXT NULL CHECK (length(expected_selling_partner_id) <= 64);

CREATE VIEW sp_api_credentials_status AS
SELECT
  customer_id,
  region,
  marketplace,
  selling_partner_id,
  CASE WHEN ms_left < 0 THEN 'expired' ELSE status END AS status,
  auth_requested_date,
  auth_granted_date,
  reauthorize_by,
  CASE
    WHEN ms_left IS NULL THEN NULL
    WHEN ms_left >= 0 THEN ms_left / 86400000
    ELSE -((86399999 - ms_left) / 86400000)
  END AS days_left,
  last_error,
  last_attempt_at,
  last_attempt_outcome,
  last_attempt_reason
FROM (
  SELECT
    d.*,
    CAST(round((julianday(d.reauthorize_by) - julianday(d.clock_now)) * 86400000) AS INTEGER) AS ms_left
  FROM (
    SELECT
      c.customer_id,
      c.region,
      c.marketplace,
      c.selling_partner_id,
      c.status,
      c.auth_requested_date,
      c.auth_granted_date,
      CASE WHEN c.status = 'authorized' THEN strftime('%Y-%m-%dT%H:%M:%fZ', c.auth_granted_date, '+365 days') END AS reauthorize_by,
      strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS clock_now,
      c.last_error,
      a.created_at AS last_attempt_at,
      a.outcome AS last_attempt_outcome,
      a.reason AS last_attempt_reason
    FROM sp_api_credentials AS c
    LEFT JOIN sp_api_auth_attempts AS a ON a.attempt_id = (
      SELECT l.attempt_id FROM sp_api_auth_attempts AS l
      WHERE l.customer_id = c.customer_id AND l.region = c.region
      ORDER BY l.created_at DESC, l.attempt_id DESC
      LIMIT 1
    )
  ) AS d
) AS m;
