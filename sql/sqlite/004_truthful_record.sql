-- Version 4, as sql/005_truthful_record.sql does for SQL Server:
-- (1) sp_api_credentials is rebuilt (V2's procedure; the view is dropped first and created again below, since
--     RENAME checks the views that name the table): status may be 'unlinked' (ops unlink); lwa_refresh_token holds up
--     to 8000 characters (the envelope of the longest token the LWA client accepts); mws_auth_token holds an envelope
--     (up to 1024) instead of the plain token. Plain MWS tokens already stored are sealed by the app when it opens a
--     SQLite store, and by `npm run tokens:reencrypt` / `npm run db:migrate` (the store has no keys).
-- (2) sp_api_auth_attempts gains exchange_deadline (set when the state is consumed; a pending attempt past it reads
--     'interrupted') and refusal_count (refused callbacks recorded against the attempt, at most 20). Attempts that old
--     code consumed and never finished get a deadline 10 minutes after consumption, so they read 'interrupted' too;
--     refusal_count starts as the refused callbacks old code recorded against the attempt.
--     An index on created_at serves the purge and the recent-attempts listing.
-- (3) The view: the last attempt is the newest one STARTED for the row (website, appstore, and reauthorize once a
--     callback consumed it: the Login URI is anonymous, and an unanswered request there must not hide an outcome), so refused
--     callbacks, revocation audits and ops actions never replace it; its outcome reads 'abandoned' (pending, never
--     consumed, past expires_at) or 'interrupted' (pending, consumed, past exchange_deadline) by SQLite's clock, and
--     the view also shows that attempt's expires_at and exchange_deadline, from which listCredentialStatus recomputes
--     the outcome for the caller's clock.
DROP VIEW sp_api_credentials_status;

CREATE TABLE sp_api_credentials_v4 (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token         TEXT NULL CHECK (length(mws_auth_token) <= 1024),
  spapi_oauth_code       TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token      TEXT NULL CHECK (length(lwa_refresh_token) <= 8000),
  status                 TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed', 'revoked', 'unlinked')),
  last_error             TEXT NULL,
  auth_requested_date    TEXT NULL,
  auth_granted_date      TEXT NULL,
  lwa_refresh_token_date TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
INSERT INTO sp_api_credentials_v4
  (customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
SELECT
   customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at
FROM sp_api_credentials;
DROP TABLE sp_api_credentials;
ALTER TABLE sp_api_credentials_v4 RENAME TO sp_api_credentials;
CREATE UNIQUE INDEX ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, region) WHERE selling_partner_id IS NOT NULL;

ALTER TABLE sp_api_auth_attempts ADD COLUMN exchange_deadline TEXT NULL;
ALTER TABLE sp_api_auth_attempts ADD COLUMN refusal_count INTEGER NOT NULL DEFAULT 0 CHECK (refusal_count >= 0);
UPDATE sp_api_auth_attempts
  SET refusal_count = (
    SELECT COUNT(*) FROM sp_api_auth_attempts AS r
    WHERE r.related_attempt_id = sp_api_auth_attempts.attempt_id AND r.flow = 'callback' AND r.outcome = 'refused')
  WHERE attempt_id IN (SELECT related_attempt_id FROM sp_api_auth_attempts WHERE flow = 'callback' AND outcome = 'refused');
UPDATE sp_api_auth_attempts
  SET exchange_deadline = strftime('%Y-%m-%dT%H:%M:%fZ', consumed_at, '+10 minutes')
  WHERE outcome = 'pending' AND consumed_at IS NOT NULL;
CREATE INDEX ix_sp_api_auth_attempts_created ON sp_api_auth_attempts (created_at);

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
  CASE
    WHEN last_attempt_outcome = 'pending' AND last_attempt_exchange_deadline IS NULL AND last_attempt_expires_at <= clock_now THEN 'abandoned'
    WHEN last_attempt_outcome = 'pending' AND last_attempt_exchange_deadline <= clock_now THEN 'interrupted'
    ELSE last_attempt_outcome
  END AS last_attempt_outcome,
  last_attempt_reason,
  last_attempt_expires_at,
  last_attempt_exchange_deadline
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
      a.reason AS last_attempt_reason,
      a.expires_at AS last_attempt_expires_at,
      a.exchange_deadline AS last_attempt_exchange_deadline
    FROM sp_api_credentials AS c
    LEFT JOIN sp_api_auth_attempts AS a ON a.attempt_id = (
      SELECT l.attempt_id FROM sp_api_auth_attempts AS l
      WHERE l.customer_id = c.customer_id AND l.region = c.region
        AND (l.flow IN ('website', 'appstore') OR (l.flow = 'reauthorize' AND l.consumed_at IS NOT NULL))
      ORDER BY l.created_at DESC, l.attempt_id DESC
      LIMIT 1
    )
  ) AS d
) AS m;
