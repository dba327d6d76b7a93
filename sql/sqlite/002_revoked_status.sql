-- Version 2: status 'revoked' (LWA refused the refresh token), as sql/003_access_tokens.sql does for SQL Server.
-- SQLite cannot change a CHECK constraint in place, so sp_api_credentials is rebuilt (the procedure of
-- https://www.sqlite.org/lang_altertable.html#otheralter; no foreign keys, triggers or views refer to it). Dropping
-- the old table drops its index, which is then created again on the new one. sp_api_auth_attempts.flow has no CHECK
-- in SQLite, so 'refresh' needs no change there.
CREATE TABLE sp_api_credentials_v2 (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  marketplace            TEXT NULL,
  selling_partner_id     TEXT NULL CHECK (length(selling_partner_id) <= 64),
  mws_auth_token         TEXT NULL CHECK (length(mws_auth_token) <= 256),
  spapi_oauth_code       TEXT NULL CHECK (length(spapi_oauth_code) <= 1024),
  lwa_refresh_token      TEXT NULL CHECK (length(lwa_refresh_token) <= 4000),
  status                 TEXT NOT NULL CHECK (status IN ('pending', 'authorized', 'failed', 'revoked')),
  last_error             TEXT NULL,
  auth_requested_date    TEXT NULL,
  auth_granted_date      TEXT NULL,
  lwa_refresh_token_date TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
INSERT INTO sp_api_credentials_v2
  (customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
SELECT
   customer_id, region, marketplace, selling_partner_id, mws_auth_token, spapi_oauth_code, lwa_refresh_token, status,
   last_error, auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at
FROM sp_api_credentials;
DROP TABLE sp_api_credentials;
ALTER TABLE sp_api_credentials_v2 RENAME TO sp_api_credentials;
CREATE UNIQUE INDEX ux_sp_api_credentials_partner
  ON sp_api_credentials (selling_partner_id, region) WHERE selling_partner_id IS NOT NULL;
