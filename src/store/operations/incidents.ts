import { statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { countOf, DUPLICATE_KEY, operation } from './operation.js';

/** A service event: the outbox's NOT NULL customer, scope and region columns hold '' (none). */
const serviceEvent = (type: 'service.incident_started' | 'service.incident_ended') =>
  statement(
    { now: C.datetime, eventData: C.data },
    (d) => `INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    VALUES ('${type}', '', '', '', NULL, @now, @eventData)`,
  );
const started = serviceEvent('service.incident_started');
const ended = serviceEvent('service.incident_ended');

const incident = { kind: C.incident_kind, detail: C.incident_detail, now: C.datetime } as const;
const touch = statement(
  incident,
  (d) => `UPDATE ${d.t('incidents')} SET last_seen_at = @now, seen_count = seen_count + 1, detail = COALESCE(@detail, detail)
    WHERE kind = @kind AND ended_at IS NULL`,
);
const reopen = statement(
  incident,
  (d) => `UPDATE ${d.t('incidents')} SET opened_at = @now, last_seen_at = @now, ended_at = NULL, seen_count = 1, detail = @detail
    WHERE kind = @kind AND ended_at IS NOT NULL`,
);
const open = statement(
  incident,
  (d) => `INSERT INTO ${d.t('incidents')} (kind, opened_at, last_seen_at, ended_at, seen_count, detail) VALUES (@kind, @now, @now, NULL, 1, @detail)`,
);

/**
 * An app-wide incident noted at @now: counted when one of its kind is open; else opened (the row reopened or created)
 * with a service.incident_started event, in one transaction. Answers opened = 1 when this call opened it; two
 * instances opening one at once: the second INSERT's duplicate key rolls its transaction back and answers 0 (the other
 * opened it), and its report is counted on the incident the other opened.
 */
export const recordIncident = operation({
  name: 'record_incident',
  params: { ...incident, eventData: C.data },
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @opened INT = 0;
  BEGIN TRY
    BEGIN TRANSACTION;
    ${touch.sql(d)};
    IF @@ROWCOUNT = 0
    BEGIN
      ${reopen.sql(d)};
      IF @@ROWCOUNT = 0 ${open.sql(d)};
      ${started.sql(d)};
      SET @opened = 1;
    END;
    COMMIT TRANSACTION;
  END TRY
  BEGIN CATCH
    IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
    IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY}) THROW;
    SET @opened = 0;
    ${touch.sql(d)};
  END CATCH;
  SELECT @opened AS opened;`,
  sqlite: (tx, p) => {
    if (tx.run(touch, p) === 1) return [{ opened: 0 }];
    if (tx.run(reopen, p) === 0) tx.run(open, p);
    tx.run(started, p);
    return [{ opened: 1 }];
  },
  sqliteOnDuplicate: [{ opened: 0 }],
  answer: (rows) => countOf(rows, 'opened') === 1,
});

const close = statement(
  { kind: C.incident_kind, now: C.datetime },
  (d) => `UPDATE ${d.t('incidents')} SET ended_at = @now WHERE kind = @kind AND ended_at IS NULL`,
);

/** Ends the open incident of @kind with a service.incident_ended event, in one transaction; ended = 1 when it did. */
export const endIncident = operation({
  name: 'end_incident',
  params: { ...close.params, eventData: C.data },
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @ended INT = 0;
  BEGIN TRANSACTION;
  ${close.sql(d)};
  SET @ended = @@ROWCOUNT;
  IF @ended = 1 ${ended.sql(d)};
  COMMIT TRANSACTION;
  SELECT @ended AS ended;`,
  sqlite: (tx, p) => {
    if (tx.run(close, p) !== 1) return [{ ended: 0 }];
    tx.run(ended, p);
    return [{ ended: 1 }];
  },
  answer: (rows) => countOf(rows, 'ended') === 1,
});
