import { COLUMNS as C } from '../sql/types.js';
import { countOf, operation } from './operation.js';
import { duplicateKeyMeansNone, updateElseInsert } from './tsql.js';

/**
 * The sweep's lease on (customer, scope): taken when no other sweep holds it and no sweep checked the row since
 * @runStartedAt; the check row is created leased when missing. Two inserts racing on SQL Server: the loser's duplicate
 * key answers false (the other sweep has it).
 */
export const claimCredentialCheck = operation({
  name: 'claim_credential_check',
  params: { customerId: C.customer_id, scope: C.scope, region: C.region, now: C.datetime, leaseUntil: C.datetime, runStartedAt: C.datetime },
  tsql: (d) =>
    duplicateKeyMeansNone(
      'claimed',
      updateElseInsert(
        'claimed',
        `UPDATE ${d.t('checks')} SET lease_until = @leaseUntil
    WHERE customer_id = @customerId AND scope = @scope
      AND (lease_until IS NULL OR lease_until <= @now) AND (checked_at IS NULL OR checked_at < @runStartedAt)`,
        `SELECT 1 FROM ${d.t('checks')} WHERE customer_id = @customerId AND scope = @scope`,
        `INSERT INTO ${d.t('checks')} (customer_id, scope, region, lease_until) VALUES (@customerId, @scope, @region, @leaseUntil)`,
      ),
    ),
  // One statement decides: insert the row leased, or take the lease of a row that is free and unchecked this run.
  sqlite: (tx, p) => [
    {
      claimed: tx.run(
        `INSERT INTO sp_api_credential_checks (customer_id, scope, region, lease_until) VALUES (@customerId, @scope, @region, @leaseUntil)
         ON CONFLICT (customer_id, scope) DO UPDATE SET lease_until = excluded.lease_until
         WHERE (sp_api_credential_checks.lease_until IS NULL OR sp_api_credential_checks.lease_until <= @now)
           AND (sp_api_credential_checks.checked_at IS NULL OR sp_api_credential_checks.checked_at < @runStartedAt)`,
        p,
      ),
    },
  ],
  answer: (rows) => countOf(rows, 'claimed') === 1,
});
