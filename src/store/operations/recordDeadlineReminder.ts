import { insertEvent } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { countOf, operation } from './operation.js';
import { duplicateKeyMeansNone, updateElseInsert } from './tsql.js';

/**
 * A re-authorization reminder, once per threshold and grant (a looser threshold never after a tighter one), only
 * while the row is authorized with that grant: the mark is one conditional UPDATE (or the INSERT of a missing check
 * row) and the event is written only when the mark was, in one transaction.
 */
export const recordDeadlineReminder = operation({
  name: 'record_deadline_reminder',
  params: { ...insertEvent.params, grantedAt: C.datetime, threshold: C.int },
  tsql: (d) =>
    duplicateKeyMeansNone(
      'sent',
      `IF EXISTS (
      SELECT 1 FROM ${d.t('credentials')}
      WHERE customer_id = @customerId AND scope = @scope AND status = 'authorized' AND auth_granted_date = @grantedAt)
    BEGIN
      ${updateElseInsert(
        'sent',
        `UPDATE ${d.t('checks')} SET reminded_threshold = @threshold, reminded_for_grant = @grantedAt
      WHERE customer_id = @customerId AND scope = @scope
        AND (reminded_for_grant IS NULL OR reminded_for_grant <> @grantedAt OR reminded_threshold > @threshold)`,
        `SELECT 1 FROM ${d.t('checks')} WHERE customer_id = @customerId AND scope = @scope`,
        `INSERT INTO ${d.t('checks')} (customer_id, scope, region, reminded_threshold, reminded_for_grant) VALUES (@customerId, @scope, @region, @threshold, @grantedAt)`,
      )}
      IF @sent = 1 ${insertEvent.sql(d)};
    END;`,
    ),
  sqlite: (tx, p) => {
    const current = tx.get(
      `SELECT 1 AS held FROM sp_api_credentials WHERE customer_id = @customerId AND scope = @scope AND status = 'authorized' AND auth_granted_date = @grantedAt`,
      p,
    );
    if (current === undefined) return [{ sent: 0 }];
    const marked = tx.run(
      `INSERT INTO sp_api_credential_checks (customer_id, scope, region, reminded_threshold, reminded_for_grant)
       VALUES (@customerId, @scope, @region, @threshold, @grantedAt)
       ON CONFLICT (customer_id, scope) DO UPDATE SET reminded_threshold = excluded.reminded_threshold, reminded_for_grant = excluded.reminded_for_grant
       WHERE sp_api_credential_checks.reminded_for_grant IS NULL OR sp_api_credential_checks.reminded_for_grant <> @grantedAt
          OR sp_api_credential_checks.reminded_threshold > @threshold`,
      p,
    );
    if (marked !== 1) return [{ sent: 0 }];
    tx.run(insertEvent, p);
    return [{ sent: 1 }];
  },
  answer: (rows) => countOf(rows, 'sent') === 1,
});
