import { COLUMNS as C } from '../sql/types.js';
import { countOf, operation } from './operation.js';
import { duplicateKeyMeansNone, updateElseInsert } from './tsql.js';

/**
 * The fleet's refresh lease on (customer, scope): taken when nobody holds an unexpired one or it is already
 * @owner's, in one conditional statement; the row is created leased (only beside an existing credential row) when it
 * has none yet. Two first claims racing on SQL Server: the second INSERT fails with a duplicate key, answered as lost.
 */
export const claimAccessTokenLease = operation({
  name: 'claim_access_token_lease',
  params: { customerId: C.customer_id, scope: C.scope, region: C.region, owner: C.lease_owner, until: C.datetime, now: C.datetime },
  lookups: ['customerId'],
  absent: false,
  tsql: (d) =>
    duplicateKeyMeansNone(
      'claimed',
      updateElseInsert(
        'claimed',
        `UPDATE ${d.t('accessTokens')} SET lease_owner = @owner, lease_until = @until, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope AND (lease_owner IS NULL OR lease_until <= @now OR lease_owner = @owner)`,
        `SELECT 1 FROM ${d.t('accessTokens')} WHERE customer_id = @customerId AND scope = @scope`,
        `INSERT INTO ${d.t('accessTokens')} (customer_id, scope, region, lease_owner, lease_until, updated_at)
      SELECT customer_id, scope, region, @owner, @until, @now FROM ${d.t('credentials')} WHERE customer_id = @customerId AND scope = @scope`,
      ),
    ),
  // One statement: the INSERT when the row is missing (only beside a credential row), else the upsert's conditional UPDATE.
  sqlite: (tx, p) => [
    {
      claimed: tx.run(
        `INSERT INTO sp_api_access_tokens (customer_id, scope, region, lease_owner, lease_until, updated_at)
         SELECT customer_id, scope, region, @owner, @until, @now FROM sp_api_credentials WHERE customer_id = @customerId AND scope = @scope
         ON CONFLICT (customer_id, scope) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until, updated_at = excluded.updated_at
         WHERE sp_api_access_tokens.lease_owner IS NULL OR sp_api_access_tokens.lease_until <= @now OR sp_api_access_tokens.lease_owner = @owner`,
        p,
      ),
    },
  ],
  answer: (rows) => countOf(rows, 'claimed') === 1,
});
