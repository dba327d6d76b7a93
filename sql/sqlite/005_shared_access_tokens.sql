-- Version 5 (sql/006_shared_access_tokens.sql): the access token every instance shares per (customer, region), the
-- credential generation that made it, and the refresh lease (owner, deadline). One row per credential row (the key
-- is the same pair; rows are written only while the credential row exists). The token is a TokenCipher envelope.
CREATE TABLE sp_api_access_tokens (
  customer_id            TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region                 TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  credential_generation  TEXT NULL CHECK (length(credential_generation) <= 160),
  access_token           TEXT NULL CHECK (length(access_token) <= 8000),
  expires_at             TEXT NULL,
  refreshed_at           TEXT NULL,
  lease_owner            TEXT NULL CHECK (length(lease_owner) <= 64),
  lease_until            TEXT NULL,
  updated_at             TEXT NOT NULL,
  PRIMARY KEY (customer_id, region)
);
