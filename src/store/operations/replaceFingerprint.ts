import { statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { DUPLICATE_KEY, operation, outcomeOf } from './operation.js';

/** The fingerprint of the refresh token the row still holds (compare-and-swap on the envelope); updated_at untouched. */
const writeFingerprint = statement(
  { customerId: C.customer_id, scope: C.scope, expectedRefreshToken: C.lwa_refresh_token, fingerprint: C.refresh_token_fingerprint },
  (d) => `UPDATE ${d.t('credentials')} SET refresh_token_fingerprint = @fingerprint
    WHERE customer_id = @customerId AND scope = @scope AND ${d.same('lwa_refresh_token', '@expectedRefreshToken')}`,
);

/** One UPDATE: 'replaced', 'changed' (the row holds another token now), or 'duplicate' (the unique index refused it). */
export const replaceFingerprint = operation({
  name: 'replace_fingerprint',
  params: writeFingerprint.params,
  lookups: ['customerId', 'expectedRefreshToken'],
  absent: 'changed' as const,
  tsql: (d) => `DECLARE @outcome VARCHAR(16);
  BEGIN TRY
    ${writeFingerprint.sql(d)};
    SET @outcome = CASE WHEN @@ROWCOUNT = 1 THEN 'replaced' ELSE 'changed' END;
  END TRY
  BEGIN CATCH
    IF ERROR_NUMBER() NOT IN (${DUPLICATE_KEY}) THROW;
    SET @outcome = 'duplicate';
  END CATCH;
  SELECT @outcome AS outcome;`,
  sqlite: (tx, p) => [{ outcome: tx.run(writeFingerprint, p) === 1 ? 'replaced' : 'changed' }],
  sqliteOnDuplicate: [{ outcome: 'duplicate' }],
  answer: (rows) => outcomeOf(rows, ['replaced', 'changed', 'duplicate'] as const),
});
