-- Version 1: the schema as first shipped. Files created before versioning hold exactly this with user_version 0;
-- every statement is IF NOT EXISTS, so it is a no-op for them and creates everything in a fresh file.
CREATE TABLE IF NOT EXISTS sp_api_credentials (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token         TEXT NULL CHECK (length(mws_auth_token) <= 256),
  spapi_oauth_code       TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token      TEXT NULL CHECK (length(lwa_refresh_token) <= 4000),
  status                 TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed')),
  last_error             TEXT NULL,
  auth_requested_date    TEXT NULL,
  auth_granted_date      TEXT NULL,
  lwa_refresh_token_date TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, region) WHERE selling_partner_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS sp_api_auth_attempts (
  attempt_id             INTEGER PRIMARY KEY AUTOINCREMENT,
  state_hash             TEXT NULL,
  browser_binding_hash   TEXT NULL,
  flow                   TEXT NOT NULL,
  customer_id            TEXT NULL,
  region                 TEXT NULL,
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL,
  code_hash              TEXT NULL,
  created_at             TEXT NOT NULL,
  expires_at             TEXT NULL,
  consumed_at            TEXT NULL,
  completed_at           TEXT NULL,
  outcome                TEXT NOT NULL CHECK (outcome IN ('pending', 'succeeded', 'failed', 'refused')),
  reason                 TEXT NULL,
  lwa_error              TEXT NULL,
  lwa_error_description  TEXT NULL,
  related_attempt_id     INTEGER NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_sp_api_auth_attempts_state
  ON sp_api_auth_attempts (state_hash) WHERE state_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_sp_api_auth_attempts_customer
  ON sp_api_auth_attempts (customer_id, region, created_at);
