import { statusCaseSql } from '../sql/statusCase.js';
import { deleteSharedAccessToken, statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { countOf, operation } from './operation.js';

/** One conditional UPDATE decides: only a revoked row still holding exactly the envelope LWA accepted again. */
const restore = statement(
  { customerId: C.customer_id, scope: C.scope, expectedRefreshToken: C.lwa_refresh_token, now: C.datetime },
  (d) => `UPDATE ${d.t('credentials')} SET status = ${statusCaseSql('succeeded')}, last_error = NULL, revoked_at = NULL, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope AND status = 'revoked' AND ${d.same('lwa_refresh_token', '@expectedRefreshToken')}`,
);
const insertRestorationAudit = statement(
  { customerId: C.customer_id, scope: C.scope, now: C.datetime },
  (d) => `INSERT INTO ${d.t('attempts')}
      (flow, customer_id, scope, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason)
    SELECT 'refresh', customer_id, scope, region, marketplace, selling_partner_id, @now, @now, 'succeeded', 'revocation_withdrawn'
    FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope`,
);
const insertRestoredEvent = statement(
  { customerId: C.customer_id, scope: C.scope, now: C.datetime, eventData: C.data },
  (d) => `INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT 'authorization.restored', customer_id, scope, region, selling_partner_id, @now, @eventData
    FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope`,
);

/**
 * LWA accepted again a refresh token it had refused: the row authorized again (its grant as it was), an audit
 * attempt and authorization.restored, in one transaction; the revocation's own attempt stays in the history.
 */
export const restoreRevoked = operation({
  name: 'restore_revoked',
  params: { ...restore.params, ...insertRestoredEvent.params },
  lookups: ['customerId', 'expectedRefreshToken'],
  absent: false,
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @restored INT;
  BEGIN TRANSACTION;
  ${restore.sql(d)};
  SET @restored = @@ROWCOUNT;
  IF @restored = 1
  BEGIN
    ${deleteSharedAccessToken.sql(d)};
    ${insertRestorationAudit.sql(d)};
    ${insertRestoredEvent.sql(d)};
  END;
  COMMIT TRANSACTION;
  SELECT @restored AS restored;`,
  sqlite: (tx, p) => {
    if (tx.run(restore, p) !== 1) return [{ restored: 0 }];
    for (const step of [deleteSharedAccessToken, insertRestorationAudit, insertRestoredEvent]) tx.run(step, p);
    return [{ restored: 1 }];
  },
  answer: (rows) => countOf(rows, 'restored') === 1,
});
