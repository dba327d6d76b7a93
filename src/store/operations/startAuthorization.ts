import { MAX_OPEN_ATTEMPTS } from '../../credentials/index.js';
import { countOpenAttempts, insertStartedAttempt } from '../sql/statements.js';
import { DUPLICATE_KEY, operation, outcomeOf } from './operation.js';

/** How often the procedure runs its transaction: a lost insert race needs one more run, never two. */
const TRIES = 3;

/**
 * AuthorizeStart's one write: the attempt, and for the signed flows (website, appstore) the seed's step 1 on the row
 * (a `pending` row when none exists, else only auth_requested_date); never a status. 'too_many_open' writes nothing.
 * T-SQL: UPDATE, then INSERT when no row was there; a concurrent start inserting that row first makes our INSERT fail
 * with a duplicate key once it commits, and the whole transaction runs again (its UPDATE then finds the row). The
 * count reads committed rows (READ COMMITTED SNAPSHOT), so starts racing each other may each pass it: exact for
 * sequential starts, off by at most the number of concurrent ones.
 */
export const startAuthorization = operation({
  name: 'start_authorization',
  params: { ...insertStartedAttempt.params },
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @try INT = 1, @done BIT = 0, @step VARCHAR(16) = '', @outcome VARCHAR(16) = 'started';
  WHILE @done = 0
  BEGIN
    BEGIN TRY
      BEGIN TRANSACTION;
      SET @step = 'count';
      SET @outcome = 'started';
      IF (${countOpenAttempts.sql(d)}) >= ${MAX_OPEN_ATTEMPTS}
        SET @outcome = 'too_many_open';
      ELSE
      BEGIN
        SET @step = 'attempt';
        ${insertStartedAttempt.sql(d)};
        IF @flow <> 'reauthorize'
        BEGIN
          SET @step = 'update';
          UPDATE ${d.t('credentials')} SET auth_requested_date = @createdAt, updated_at = @createdAt WHERE customer_id = @customerId AND scope = @scope;
          IF @@ROWCOUNT = 0
          BEGIN
            SET @step = 'insert';
            INSERT INTO ${d.t('credentials')} (customer_id, scope, region, marketplace, status, auth_requested_date, updated_at)
            VALUES (@customerId, @scope, @region, @marketplace, 'pending', @createdAt, @createdAt);
          END;
        END;
      END;
      COMMIT TRANSACTION;
      SET @done = 1;
    END TRY
    BEGIN CATCH
      IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
      IF @step <> 'insert' OR ERROR_NUMBER() NOT IN (${DUPLICATE_KEY}) OR @try >= ${TRIES} THROW;
      SET @try = @try + 1;
    END CATCH;
  END;
  SELECT @outcome AS outcome;`,
  sqlite: (tx, p) => {
    if (Number(tx.get(countOpenAttempts, p)?.['n']) >= MAX_OPEN_ATTEMPTS) return [{ outcome: 'too_many_open' }];
    tx.run(insertStartedAttempt, p);
    // The anonymous Login URI writes no credential column; the signed flows note the request.
    if (p.flow !== 'reauthorize') {
      tx.run(
        `INSERT INTO sp_api_credentials (customer_id, scope, region, marketplace, status, auth_requested_date, updated_at)
         VALUES (@customerId, @scope, @region, @marketplace, 'pending', @createdAt, @createdAt)
         ON CONFLICT (customer_id, scope) DO UPDATE SET auth_requested_date = excluded.auth_requested_date, updated_at = excluded.updated_at`,
        p,
      );
    }
    return [{ outcome: 'started' }];
  },
  answer: (rows) => outcomeOf(rows, ['started', 'too_many_open'] as const),
});
