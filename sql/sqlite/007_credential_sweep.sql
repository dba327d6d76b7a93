-- Version 7 (issue 11; renumbered when merged), as sql/008_credential_sweep.sql does for SQL Server: the credential
-- sweep's side table sp_api_credential_checks, one row per (customer, region) it has looked at: its lease
-- (lease_until), the last check (checked_at, check_outcome, check_error), what SP-API's marketplaceParticipations said
-- (verified_at, marketplace_ids and country_codes comma-separated, store_name), the ops flag ('spapi_access_denied',
-- 'region_mismatch'; never a status), and the re-authorization reminder sent (reminded_threshold 30/7/0 for
-- reminded_for_grant = the auth_granted_date it was about).
CREATE TABLE sp_api_credential_checks (
  customer_id          TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
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
  PRIMARY KEY (customer_id, region)
);
