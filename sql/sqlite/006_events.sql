-- Version 6 (issue 11; versions 5 and 8 belong to other changes and the merge numbers the steps), as
-- sql/007_events.sql does for SQL Server: the events outbox sp_api_events. One row per change of a seller's
-- authorization, written in the transaction of the change; `data` is JSON without secrets; delivery_state, the tries
-- made, when to try next (also the lease of a try in progress), when delivered and the last delivery error serve the
-- Standard Webhooks delivery (src/events/webhookDelivery.ts). The queue index serves "the oldest pending event of each
-- (customer, region)"; the occurred_at index the retention purge.
CREATE TABLE sp_api_events (
  event_id             INTEGER PRIMARY KEY AUTOINCREMENT,
  event_type           TEXT NOT NULL CHECK (length(event_type) <= 40),
  customer_id          TEXT NOT NULL CHECK (length(customer_id) BETWEEN 1 AND 64),
  region               TEXT NOT NULL CHECK (region IN ('NA', 'EU', 'FE')),
  selling_partner_id   TEXT NULL CHECK (length(selling_partner_id) <= 64),
  occurred_at          TEXT NOT NULL,
  data                 TEXT NOT NULL CHECK (length(data) <= 4000),
  delivery_state       TEXT NOT NULL DEFAULT 'pending' CHECK (delivery_state IN ('pending', 'delivered', 'failed')),
  delivery_attempts    INTEGER NOT NULL DEFAULT 0 CHECK (delivery_attempts >= 0),
  next_attempt_at      TEXT NULL,
  delivered_at         TEXT NULL,
  last_delivery_error  TEXT NULL CHECK (length(last_delivery_error) <= 500)
);
CREATE INDEX ix_sp_api_events_queue ON sp_api_events (customer_id, region, delivery_state, event_id);
CREATE INDEX ix_sp_api_events_occurred ON sp_api_events (occurred_at);
