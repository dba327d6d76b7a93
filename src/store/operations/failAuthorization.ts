import { statusCaseSql } from '../sql/statusCase.js';
import { FAILURE, statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation } from './operation.js';

const endAttemptFailed = statement(
  { attemptId: C.attempt_id, ...FAILURE, now: C.datetime },
  (d) => `UPDATE ${d.t('attempts')} SET outcome = 'failed', reason = @reason, lwa_error = @lwaError,
      lwa_error_description = @lwaErrorDescription, completed_at = @now
    WHERE attempt_id = @attemptId`,
);
const markRowFailed = statement(
  { customerId: C.customer_id, scope: C.scope, lastError: C.last_error, now: C.datetime },
  (d) => `UPDATE ${d.t('credentials')} SET status = ${statusCaseSql('failed')}, last_error = @lastError, partner_claimed_until = NULL, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope`,
);
/** An authorized row keeps its token through a failed authorization: only a row that reads failed tells oxWebApp. */
const insertFailedEvent = statement(
  { customerId: C.customer_id, scope: C.scope, now: C.datetime, eventData: C.data },
  (d) => `INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT 'authorization.failed', customer_id, scope, region, selling_partner_id, @now, @eventData
    FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope AND status = 'failed'`,
);

/** Ends a consumed attempt as failed; the row gets last_error, moves by STATUS_CHANGES.failed and gives up its claim on the seller; its event. */
export const failAuthorization = operation({
  name: 'fail_authorization',
  params: { ...endAttemptFailed.params, ...markRowFailed.params, ...insertFailedEvent.params },
  tsql: (d) => `SET XACT_ABORT ON;
  BEGIN TRANSACTION;
  ${endAttemptFailed.sql(d)};
  ${markRowFailed.sql(d)};
  ${insertFailedEvent.sql(d)};
  COMMIT TRANSACTION;`,
  sqlite: (tx, p) => {
    for (const step of [endAttemptFailed, markRowFailed, insertFailedEvent]) tx.run(step, p);
    return [];
  },
  answer: (): void => undefined,
});
