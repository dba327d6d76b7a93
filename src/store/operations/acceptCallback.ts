import type { CallbackAcceptanceResult } from '../../credentials/index.js';
import { text } from '../sql/rows.js';
import { consumePendingAttempt, partnerHeldElsewhere, partnerHeldHere, recordCallbackOnRow, releasePartner } from '../sql/statements.js';
import { DUPLICATE_KEY, operation, outcomeOf } from './operation.js';

/**
 * A callback's one write before the code exchange: consume the pending attempt (one caller wins); then, in this
 * order, `partner_changed` when the (customer, scope) row holds another seller firmly (authorized, or claimed by an
 * exchange in flight), `partner_conflict` when another customer's row holds the seller firmly (both keep the
 * consumption, record nothing, and no code is spent); else release the seller from other customers' rows that hold
 * it loosely, record the callback on the row and claim the seller until the exchange's deadline. On SQL Server a concurrent
 * authorization of this seller may not be seen by the guard (READ COMMITTED SNAPSHOT): the partner index then refuses
 * the record with a duplicate key, the transaction is rolled back, and the attempt is consumed again on its own
 * before answering 'partner_conflict'. On SQLite the IMMEDIATE transaction holds the write lock, so nothing changes
 * between the guards and the record.
 */
export const acceptCallback = operation({
  name: 'accept_callback',
  params: { ...consumePendingAttempt.params, ...recordCallbackOnRow.params },
  lookups: ['stateHash'],
  absent: { kind: 'not_consumable' } as CallbackAcceptanceResult,
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @outcome VARCHAR(16) = 'consumed', @linked VARCHAR(64) = NULL;
  BEGIN TRY
    BEGIN TRANSACTION;
    ${consumePendingAttempt.sql(d)};
    IF @@ROWCOUNT <> 1
      SET @outcome = 'not_consumable';
    ELSE
    BEGIN
      SELECT @linked = selling_partner_id FROM (${partnerHeldHere.sql(d)}) AS here;
      IF @linked IS NOT NULL
        SET @outcome = 'partner_changed';
      ELSE IF EXISTS (${partnerHeldElsewhere.sql(d)})
        SET @outcome = 'partner_conflict';
      ELSE
      BEGIN
        ${releasePartner.sql(d)};
        ${recordCallbackOnRow.sql(d)};
      END;
    END;
    COMMIT TRANSACTION;
  END TRY
  BEGIN CATCH
    IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
    IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY}) THROW;
    SET @linked = NULL;
    ${consumePendingAttempt.sql(d)};
    SET @outcome = CASE WHEN @@ROWCOUNT = 1 THEN 'partner_conflict' ELSE 'not_consumable' END;
  END CATCH;
  SELECT @outcome AS outcome, @linked AS linked_selling_partner_id;`,
  sqlite: (tx, p) => {
    if (tx.run(consumePendingAttempt, p) !== 1) return [{ outcome: 'not_consumable' }];
    const linked = text(tx.get(partnerHeldHere, p)?.['selling_partner_id']);
    if (linked !== null) return [{ outcome: 'partner_changed', linked_selling_partner_id: linked }];
    if (tx.get(partnerHeldElsewhere, p) !== undefined) return [{ outcome: 'partner_conflict' }];
    tx.run(releasePartner, p);
    tx.run(recordCallbackOnRow, p);
    return [{ outcome: 'consumed' }];
  },
  answer: (rows): CallbackAcceptanceResult => {
    const kind = outcomeOf(rows, ['consumed', 'not_consumable', 'partner_changed', 'partner_conflict'] as const);
    if (kind !== 'partner_changed') return { kind };
    const linked = text(rows[0]?.['linked_selling_partner_id']);
    if (linked === null) throw new Error('acceptCallback answered partner_changed without the linked seller');
    return { kind, linked };
  },
});
