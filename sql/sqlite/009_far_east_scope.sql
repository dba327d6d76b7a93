-- Version 9, as sql/010_far_east_scope.sql does for SQL Server: credentials are keyed by (customer_id, scope), scope
-- being the region for NA and EU and the marketplace in the Far East (existing FE rows take their marketplace, JP when
-- it is not one of the three); so are the shared access tokens and the sweep's checks (those three tables are rebuilt:
-- SQLite cannot change a key in place), and the attempts and events carry the scope too. sp_api_credentials gains
-- refresh_token_fingerprint (unique: one refresh token, one credential), partner_claimed_until and revoked_at; the
-- events outbox carries the service's own events (customer_id, region and scope ''); service_incidents holds the
-- latest app-wide incident of each kind. The view is dropped first and created again last (RENAME checks the views
-- that name a table), now with the scope, revoked_at and has_refresh_token.
DROP VIEW sp_api_credentials_status;

CREATE TABLE sp_api_credentials_v9 (
  customer_id               TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  scope                     TEXT NOT NULL,
  region                    TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace               TEXT NULL,
  selling_partner_id        TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token            TEXT NULL CHECK (length(mws_auth_token) <= 1024),
  spapi_oauth_code          TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token         TEXT NULL CHECK (length(lwa_refresh_token) <= 8000),
  refresh_token_fingerprint TEXT NULL CHECK (length(refresh_token_fingerprint) <= 80),
  status                    TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed', 'revoked', 'unlinked')),
  last_error                TEXT NULL,
  auth_requested_date       TEXT NULL,
  auth_granted_date         TEXT NULL,
  lwa_refresh_token_date    TEXT NULL,
  partner_claimed_until     TEXT NULL,
  revoked_at                TEXT NULL,
  updated_at                TEXT NOT NULL,
  PRIMARY KEY (customer_id, scope),
  CHECK ((region = 'FE' AND scope IN ('JP', 'AU', 'SG')) OR (region IN ('NA', 'EU') AND scope = region))
);
INSERT INTO sp_api_credentials_v9
  (customer_id, scope, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, revoked_at, updated_at)
SELECT
   customer_id,
   CASE WHEN region <> 'FE' THEN region WHEN marketplace IN ('JP', 'AU', 'SG') THEN marketplace ELSE 'JP' END,
   region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date,
   CASE WHEN status = 'revoked' THEN updated_at END, updated_at
FROM sp_api_credentials;
DROP TABLE sp_api_credentials;
ALTER TABLE sp_api_credentials_v9 RENAME TO sp_api_credentials;
CREATE UNIQUE INDEX ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, scope) WHERE selling_partner_id IS NOT NULL;
CREATE UNIQUE INDEX ux_sp_api_credentials_fingerprint
  ON sp_api_credentials (refresh_token_fingerprint) WHERE refresh_token_fingerprint IS NOT NULL;

ALTER TABLE sp_api_auth_attempts ADD COLUMN scope TEXT NULL
  CHECK (scope IS NULL OR scope IN ('NA', 'EU', 'JP', 'AU', 'SG'));
UPDATE sp_api_auth_attempts
  SET scope = CASE WHEN region IS NULL THEN NULL WHEN region <> 'FE' THEN region
                   WHEN marketplace IN ('JP', 'AU', 'SG') THEN marketplace ELSE 'JP' END;
DROP INDEX ix_sp_api_auth_attempts_customer;
CREATE INDEX ix_sp_api_auth_attempts_customer ON sp_api_auth_attempts (customer_id, scope, created_at);

-- Disposable rows (a miss costs one refresh): the Far East ones are dropped rather than guessed.
CREATE TABLE sp_api_access_tokens_v9 (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  scope                  TEXT NOT NULL,
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  credential_generation  TEXT NULL CHECK (length(credential_generation) <= 160),
  access_token           TEXT NULL CHECK (length(access_token) <= 8000),
  expires_at             TEXT NULL,
  refreshed_at           TEXT NULL,
  lease_owner            TEXT NULL CHECK (length(lease_owner) <= 64),
  lease_until            TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, scope),
  CHECK ((region = 'FE' AND scope IN ('JP', 'AU', 'SG')) OR (region IN ('NA', 'EU') AND scope = region))
);
INSERT INTO sp_api_access_tokens_v9
  (customer_id, scope, region, credential_generation, access_token, expires_at, refreshed_at, lease_owner, lease_until, updated_at)
SELECT customer_id, region, region, credential_generation, access_token, expires_at, refreshed_at, lease_owner, lease_until, updated_at
FROM sp_api_access_tokens WHERE region <> 'FE';
DROP TABLE sp_api_access_tokens;
ALTER TABLE sp_api_access_tokens_v9 RENAME TO sp_api_access_tokens;

CREATE TABLE sp_api_credential_checks_v9 (
  customer_id          TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  scope                TEXT NOT NULL,
  region               TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  lease_until          TEXT NULL,
  checked_at           TEXT NULL,
  check_outcome        TEXT NULL CHECK (check_outcome IN ('verified', 'region_mismatch', 'access_denied', 'revoked', 'rate_limited', 'error')),
  check_error          TEXT NULL CHECK (length(check_error) <= 500),
  verified_at          TEXT NULL,
  marketplace_ids      TEXT NULL CHECK (length(marketplace_ids) <= 1000),
  country_codes        TEXT NULL CHECK (length(country_codes) <= 400),
  store_name           TEXT NULL CHECK (length(store_name) <= 200),
  flag                 TEXT NULL CHECK (flag IN ('spapi_access_denied', 'region_mismatch')),
  reminded_threshold   INTEGER NULL CHECK (reminded_threshold IN (30, 7, 0)),
  reminded_for_grant   TEXT NULL,
  PRIMARY KEY (customer_id, scope),
  CHECK ((region = 'FE' AND scope IN ('JP', 'AU', 'SG')) OR (region IN ('NA', 'EU') AND scope = region))
);
INSERT INTO sp_api_credential_checks_v9
  (customer_id, scope, region, lease_until, checked_at, check_outcome, check_error, verified_at, marketplace_ids,
   country_codes, store_name, flag, reminded_threshold, reminded_for_grant)
SELECT k.customer_id, c.scope, k.region, k.lease_until, k.checked_at, k.check_outcome, k.check_error, k.verified_at,
   k.marketplace_ids, k.country_codes, k.store_name, k.flag, k.reminded_threshold, k.reminded_for_grant
FROM sp_api_credential_checks AS k
JOIN sp_api_credentials AS c ON c.customer_id = k.customer_id AND c.region = k.region;
DROP TABLE sp_api_credential_checks;
ALTER TABLE sp_api_credential_checks_v9 RENAME TO sp_api_credential_checks;

CREATE TABLE sp_api_events_v9 (
  event_id             INTEGER PRIMARY KEY AUTOINCREMENT,
  event_type           TEXT NOT NULL CHECK (length(event_type) <= 40),
  customer_id          TEXT NOT NULL CHECK (length(customer_id) <= 64),
  scope                TEXT NOT NULL,
  region               TEXT NOT NULL,
  selling_partner_id   TEXT NULL CHECK (length(selling_partner_id) <= 64),
  occurred_at          TEXT NOT NULL,
  data                 TEXT NOT NULL CHECK (length(data) <= 4000),
  delivery_state       TEXT NOT NULL DEFAULT 'pending' CHECK (delivery_state IN ('pending', 'delivered', 'failed')),
  delivery_attempts    INTEGER NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
  next_attempt_at      TEXT NULL,
  delivered_at         TEXT NULL,
  last_delivery_error  TEXT NULL CHECK (length(last_delivery_error) <= 500),
  CHECK ((customer_id = '' AND region = '' AND scope = '')
      OR (length(customer_id) >= 1 AND ((region = 'FE' AND scope IN ('JP', 'AU', 'SG')) OR (region IN ('NA', 'EU') AND scope = region))))
);
INSERT INTO sp_api_events_v9
  (event_id, event_type, customer_id, scope, region, selling_partner_id, occurred_at, data, delivery_state,
   delivery_attempts, next_attempt_at, delivered_at, last_delivery_error)
SELECT e.event_id, e.event_type, e.customer_id,
   COALESCE((SELECT c.scope FROM sp_api_credentials AS c WHERE c.customer_id = e.customer_id AND c.region = e.region),
            CASE WHEN e.region <> 'FE' THEN e.region ELSE 'JP' END),
   e.region, e.selling_partner_id, e.occurred_at, e.data, e.delivery_state, e.delivery_attempts, e.next_attempt_at,
   e.delivered_at, e.last_delivery_error
FROM sp_api_events AS e;
DROP TABLE sp_api_events;
ALTER TABLE sp_api_events_v9 RENAME TO sp_api_events;
CREATE INDEX ix_sp_api_events_queue ON sp_api_events (customer_id, scope, delivery_state, event_id);
CREATE INDEX ix_sp_api_events_occurred ON sp_api_events (occurred_at);

CREATE TABLE service_incidents (
  kind          TEXT NOT NULL PRIMARY KEY CHECK (kind IN ('lwa_client_rejected', 'spapi_denied_for_all')),
  opened_at     TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL,
  ended_at      TEXT NULL,
  seen_count    INTEGER NOT NULL CHECK (seen_count >= 1),
  detail        TEXT NULL CHECK (length(detail) <= 500)
);

CREATE VIEW sp_api_credentials_status AS
SELECT
  customer_id,
  scope,
  region,
  marketplace,
  selling_partner_id,
  CASE WHEN ms_left < 0 THEN 'expired' ELSE status END AS status,
  auth_requested_date,
  auth_granted_date,
  revoked_at,
  has_refresh_token,
  reauthorize_by,
  CASE
    WHEN ms_left IS NULL THEN NULL
    WHEN ms_left >= 0 THEN ms_left / 86400000
    ELSE -((86399999 - ms_left) / 86400000)
  END AS days_left,
  last_error,
  last_attempt_at,
  CASE
    WHEN last_attempt_outcome = 'pending' AND last_attempt_consumed_at IS NULL AND last_attempt_expires_at <= clock_now THEN 'abandoned'
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
      c.scope,
      c.region,
      c.marketplace,
      c.selling_partner_id,
      c.status,
      c.auth_requested_date,
      c.auth_granted_date,
      c.revoked_at,
      c.lwa_refresh_token IS NOT NULL AS has_refresh_token,
      CASE WHEN c.status = 'authorized' THEN strftime('%Y-%m-%dT%H:%M:%fZ', c.auth_granted_date, '+365 days') END AS reauthorize_by,
      strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS clock_now,
      c.last_error,
      a.created_at AS last_attempt_at,
      a.outcome AS last_attempt_outcome,
      a.reason AS last_attempt_reason,
      a.expires_at AS last_attempt_expires_at,
      a.consumed_at AS last_attempt_consumed_at,
      a.exchange_deadline AS last_attempt_exchange_deadline
    FROM sp_api_credentials AS c
    LEFT JOIN sp_api_auth_attempts AS a ON a.attempt_id = (
      SELECT l.attempt_id FROM sp_api_auth_attempts AS l
      WHERE l.customer_id = c.customer_id AND l.scope = c.scope
        AND (l.flow IN ('website', 'appstore') OR (l.flow = 'reauthorize' AND l.consumed_at IS NOT NULL))
      ORDER BY l.created_at DESC, l.attempt_id DESC
      LIMIT 1
    )
  ) AS d
) AS m;
