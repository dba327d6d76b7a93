import { text } from '../sql/rows.js';
import {
  insertEvent,
  insertSharedAccessToken,
  markAttemptSucceeded,
  partnerHeldElsewhere,
  releasePartner,
  storeGrant,
  updateSharedAccessToken,
} from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation, outcomeOf } from './operation.js';
import { ignoringDuplicateKey, MISSING_ROW_ERROR, PARTNER_CHANGED_ERROR, PARTNER_HELD_ERROR, partnerGuarded, readBeforeUpdate } from './tsql.js';

/**
 * Stores the refresh token: the grant on the row (never over a row authorized for another seller meanwhile:
 * 'partner_changed'; another customer's row holding the seller firmly: 'partner_conflict'), the attempt succeeded,
 * authorization.granted (or .reauthorized when the row was authorized before), and, when given, the access token the
 * exchange returned as the fleet's shared one (@accessToken), in one transaction: whole or not at all (a concurrent
 * lease claim that created the shared row first is no reason to lose the grant). A missing row (a consumed attempt
 * always has one) is an error, rolled back and rethrown.
 */
export const completeAuthorization = operation({
  name: 'complete_authorization',
  params: { ...storeGrant.params, ...insertSharedAccessToken.params, attemptId: C.attempt_id, eventData: C.data },
  tsql: (d) =>
    partnerGuarded(
      'stored',
      `DECLARE @before TABLE (status VARCHAR(16) NOT NULL);
    ${releasePartner.sql(d)};
    ${readBeforeUpdate(d.t('credentials'), ['status'], '@before', 'customer_id = @customerId AND scope = @scope')}
    ${storeGrant.sql(d)};
    IF @@ROWCOUNT <> 1
    BEGIN
      -- Authorized meanwhile for another seller (another attempt finished first): switching is explicit.
      IF EXISTS (SELECT 1 FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope)
      BEGIN
        -- Another customer's claim on this seller is reported first, as the unique index would.
        IF EXISTS (${partnerHeldElsewhere.sql(d)}) THROW ${PARTNER_HELD_ERROR}, N'selling partner held by another authorized customer', 1;
        THROW ${PARTNER_CHANGED_ERROR}, N'credential row is authorized for another seller', 1;
      END;
      THROW ${MISSING_ROW_ERROR}, N'credential row missing for a consumed attempt', 1;
    END;
    ${markAttemptSucceeded.sql(d)};
    INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT CASE WHEN status = 'authorized' THEN 'authorization.reauthorized' ELSE 'authorization.granted' END,
      @customerId, @scope, @region, @sellingPartnerId, @now, @eventData
    FROM @before;
    IF @accessToken IS NOT NULL
    BEGIN
      ${updateSharedAccessToken.sql(d)};
      IF @@ROWCOUNT = 0
      BEGIN
        ${ignoringDuplicateKey(insertSharedAccessToken.sql(d))}
      END;
    END;`,
    ),
  sqlite: (tx, p) => {
    // The transaction holds the write lock: nothing changes the row between this read and the update.
    const current = tx.get('SELECT status, selling_partner_id FROM sp_api_credentials WHERE customer_id = @customerId AND scope = @scope', p);
    const linked = text(current?.['selling_partner_id']);
    if (current?.['status'] === 'authorized' && linked !== null && linked !== p.sellingPartnerId) {
      return [{ outcome: tx.get(partnerHeldElsewhere, p) === undefined ? 'partner_changed' : 'partner_conflict' }];
    }
    tx.run(releasePartner, p);
    if (tx.run(storeGrant, p) !== 1) throw new Error('credential row missing for a consumed attempt');
    tx.run(markAttemptSucceeded, p);
    tx.run(insertEvent, { ...p, eventType: current?.['status'] === 'authorized' ? 'authorization.reauthorized' : 'authorization.granted' });
    if (p.accessToken !== null && tx.run(updateSharedAccessToken, p) === 0) tx.run(insertSharedAccessToken, p);
    return [{ outcome: 'stored' }];
  },
  sqliteOnDuplicate: [{ outcome: 'partner_conflict' }],
  answer: (rows) => outcomeOf(rows, ['stored', 'partner_conflict', 'partner_changed'] as const),
});
