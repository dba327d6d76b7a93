import { MAX_REFUSALS_PER_ATTEMPT } from '../../credentials/index.js';
import { statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { countOf, operation } from './operation.js';

/** The count on the attempt bounds the audit: one conditional UPDATE (it takes the row's lock) decides. */
const countRefusal = statement(
  { relatedAttemptId: C.attempt_id },
  (d) => `UPDATE ${d.t('attempts')} SET refusal_count = refusal_count + 1
    WHERE attempt_id = @relatedAttemptId AND refusal_count < ${MAX_REFUSALS_PER_ATTEMPT}`,
);
const insertRefusal = statement(
  { relatedAttemptId: C.attempt_id, customerId: C.customer_id, scope: C.scope, region: C.region, marketplace: C.marketplace, sellingPartnerId: C.selling_partner_id, now: C.datetime, reason: C.reason },
  (d) => `INSERT INTO ${d.t('attempts')}
      (flow, customer_id, scope, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, related_attempt_id)
    VALUES ('callback', @customerId, @scope, @region, @marketplace, @sellingPartnerId, @now, @now, 'refused', @reason, @relatedAttemptId)`,
);

/** A refused callback's own row, related to the attempt it names, while that attempt has fewer than the bound. */
export const recordRefusedCallback = operation({
  name: 'record_refused_callback',
  params: insertRefusal.params,
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @recorded INT = 0;
  BEGIN TRANSACTION;
  ${countRefusal.sql(d)};
  IF @@ROWCOUNT = 1
  BEGIN
    ${insertRefusal.sql(d)};
    SET @recorded = 1;
  END;
  COMMIT TRANSACTION;
  SELECT @recorded AS recorded;`,
  sqlite: (tx, p) => {
    if (tx.run(countRefusal, p) !== 1) return [{ recorded: 0 }];
    tx.run(insertRefusal, p);
    return [{ recorded: 1 }];
  },
  answer: (rows) => {
    const recorded = countOf(rows, 'recorded');
    if (recorded > 1) throw new Error('recordRefusedCallback counted more than one attempt');
    return recorded === 1;
  },
});
