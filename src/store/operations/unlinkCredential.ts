import { CREDENTIAL_STATUSES, type UnlinkResult } from '../../credentials/index.js';
import { text } from '../sql/rows.js';
import { statusCaseSql } from '../sql/statusCase.js';
import { deleteSharedAccessToken, insertEvent, statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation } from './operation.js';
import { readBeforeUpdate } from './tsql.js';

const clearLink = statement(
  { customerId: C.customer_id, scope: C.scope, region: C.region, now: C.datetime },
  (d) => `UPDATE ${d.t('credentials')} SET
      selling_partner_id = NULL, lwa_refresh_token = NULL, refresh_token_fingerprint = NULL, spapi_oauth_code = NULL, mws_auth_token = NULL,
      partner_claimed_until = NULL, revoked_at = NULL,
      status = ${statusCaseSql('unlinked')}, last_error = NULL, updated_at = @now
    WHERE customer_id = @customerId AND scope = @scope`,
);

/**
 * Ops unlink: the link cleared (seller, refresh token, code, MWS token), the status by STATUS_CHANGES.unlinked, the
 * shared access token deleted (it was made from the token just removed), an `ops` attempt with the previous seller,
 * and authorization.unlinked unless the row was unlinked already (the attempt still records the command): one
 * transaction. The row as it was is read first (T-SQL: readBeforeUpdate); no row: nothing written, 'not_found'.
 */
export const unlinkCredential = operation({
  name: 'unlink_credential',
  params: { ...clearLink.params, eventData: C.data },
  lookups: ['customerId'],
  absent: { kind: 'not_found' } as UnlinkResult,
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @before TABLE (status VARCHAR(16) NOT NULL, selling_partner_id VARCHAR(64) NULL, marketplace VARCHAR(2) NULL);
  BEGIN TRANSACTION;
  ${readBeforeUpdate(d.t('credentials'), ['status', 'selling_partner_id', 'marketplace'], '@before', 'customer_id = @customerId AND scope = @scope')}
  ${clearLink.sql(d)};
  ${deleteSharedAccessToken.sql(d)};
  INSERT INTO ${d.t('attempts')} (flow, customer_id, scope, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason)
  SELECT 'ops', @customerId, @scope, @region, marketplace, selling_partner_id, @now, @now, 'succeeded', 'unlinked' FROM @before;
  INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
  SELECT 'authorization.unlinked', @customerId, @scope, @region, selling_partner_id, @now, @eventData FROM @before WHERE status <> 'unlinked';
  COMMIT TRANSACTION;
  SELECT status AS previous_status, selling_partner_id AS previous_selling_partner_id FROM @before;`,
  sqlite: (tx, p) => {
    const before = tx.get('SELECT status, selling_partner_id, marketplace FROM sp_api_credentials WHERE customer_id = @customerId AND scope = @scope', p);
    if (before === undefined) return [];
    tx.run(clearLink, p);
    tx.run(deleteSharedAccessToken, p);
    const previous = { ...p, marketplace: before['marketplace'], sellingPartnerId: before['selling_partner_id'] };
    tx.run(
      `INSERT INTO sp_api_auth_attempts (flow, customer_id, scope, region, marketplace, selling_partner_id, created_at, completed_at, outcome, reason)
       VALUES ('ops', @customerId, @scope, @region, @marketplace, @sellingPartnerId, @now, @now, 'succeeded', 'unlinked')`,
      previous,
    );
    if (before['status'] !== 'unlinked') tx.run(insertEvent, { ...previous, eventType: 'authorization.unlinked' });
    return [{ previous_status: before['status'], previous_selling_partner_id: before['selling_partner_id'] }];
  },
  answer: (rows): UnlinkResult => {
    const [row] = rows;
    if (row === undefined) return { kind: 'not_found' };
    if (rows.length > 1) throw new Error('unlinkCredential matched more than one credential row');
    const previousStatus = CREDENTIAL_STATUSES.find((status) => status === row['previous_status']);
    if (previousStatus === undefined) throw new Error('previous status holds a value this code does not know');
    return { kind: 'unlinked', previousSellingPartnerId: text(row['previous_selling_partner_id']), previousStatus };
  },
});
