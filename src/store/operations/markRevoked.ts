import { statusCaseSql } from '../sql/statusCase.js';
import { deleteSharedAccessToken, FAILURE, statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { countOf, operation } from './operation.js';

/** One conditional UPDATE decides: only an authorized row holding exactly the envelope LWA refused (compare-and-swap). */
const revoke = statement(
  { customerId: C.customer_id, scope: C.scope, expectedRefreshToken: C.lwa_refresh_token, lastError: C.last_error, now: C.datetime },
  (d) => `UPDATE ${d.t('credentials')} SET status = ${statusCaseSql('revoked')}, last_error = @lastError, revoked_at = @now, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope AND status = 'authorized' AND ${d.same('lwa_refresh_token', '@expectedRefreshToken')}`,
);
/** The audit row and the event copy marketplace and seller from the row just revoked (the key, same transaction). */
const insertRevocationAudit = statement(
  { customerId: C.customer_id, scope: C.scope, now: C.datetime, ...FAILURE },
  (d) => `INSERT INTO ${d.t('attempts')}
      (flow, customer_id, scope, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason, lwa_error, lwa_error_description)
    SELECT 'refresh', customer_id, scope, region, marketplace, selling_partner_id, @now, @now, 'failed', @reason, @lwaError, @lwaErrorDescription
    FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope`,
);
const insertRevokedEvent = statement(
  { customerId: C.customer_id, scope: C.scope, now: C.datetime, eventData: C.data },
  (d) => `INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT 'authorization.revoked', customer_id, scope, region, selling_partner_id, @now, @eventData
    FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope`,
);

/** LWA refused the refresh token: the row revoked, its shared token deleted, a `refresh` audit attempt, the event. */
export const markRevoked = operation({
  name: 'mark_revoked',
  params: { ...revoke.params, ...insertRevocationAudit.params, ...insertRevokedEvent.params },
  lookups: ['customerId', 'expectedRefreshToken'],
  absent: false,
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @revoked INT;
  BEGIN TRANSACTION;
  ${revoke.sql(d)};
  SET @revoked = @@ROWCOUNT;
  IF @revoked = 1
  BEGIN
    ${deleteSharedAccessToken.sql(d)};
    ${insertRevocationAudit.sql(d)};
    ${insertRevokedEvent.sql(d)};
  END;
  COMMIT TRANSACTION;
  SELECT @revoked AS revoked;`,
  sqlite: (tx, p) => {
    if (tx.run(revoke, p) !== 1) return [{ revoked: 0 }];
    for (const step of [deleteSharedAccessToken, insertRevocationAudit, insertRevokedEvent]) tx.run(step, p);
    return [{ revoked: 1 }];
  },
  answer: (rows) => {
    const revoked = countOf(rows, 'revoked');
    if (revoked > 1) throw new Error('markRevoked matched more than one credential row');
    return revoked === 1;
  },
});
