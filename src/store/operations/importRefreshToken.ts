import { insertEvent, partnerHeldElsewhere, releasePartner, statement, storeGrant } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation, outcomeOf } from './operation.js';
import { PARTNER_CHANGED_ERROR, PARTNER_HELD_ERROR, partnerGuarded, readBeforeUpdate } from './tsql.js';

const linkedToAnother = statement(
  { customerId: C.customer_id, region: C.region, sellingPartnerId: C.selling_partner_id },
  (d) => `SELECT 1 AS linked FROM ${d.t('credentials')}
    WHERE customer_id = @customerId AND region = @region AND status = 'authorized'
      AND selling_partner_id IS NOT NULL AND selling_partner_id <> @sellingPartnerId`,
);
const insertAuthorizedRow = statement(
  storeGrant.params,
  (d) => `INSERT INTO ${d.t('credentials')}
      (customer_id, region, marketplace, selling_partner_id, lwa_refresh_token, status, auth_requested_date, auth_granted_date,
       lwa_refresh_token_date, updated_at)
    VALUES (@customerId, @region, @marketplace, @sellingPartnerId, @encryptedRefreshToken, 'authorized', @now, @now, @now, @now)`,
);
const insertSelfAuthorization = statement(
  { customerId: C.customer_id, region: C.region, marketplace: C.marketplace, sellingPartnerId: C.selling_partner_id, now: C.datetime },
  (d) => `INSERT INTO ${d.t('attempts')} (flow, customer_id, region, marketplace, selling_partner_id, created_at, consumed_at, completed_at, outcome)
    VALUES ('self_authorization', @customerId, @region, @marketplace, @sellingPartnerId, @now, @now, @now, 'succeeded')`,
);

/**
 * A self-authorized refresh token stored as an authorization, in one transaction: refused as 'partner_conflict' when
 * another customer's authorized row holds the seller, as 'partner_changed' when the row is authorized for another
 * seller (nothing written); else the grant (the row created authorized when missing), a `self_authorization`
 * attempt, and authorization.granted (.reauthorized when the row was authorized before).
 */
export const importRefreshToken = operation({
  name: 'import_refresh_token',
  params: { ...storeGrant.params, eventData: C.data },
  tsql: (d) =>
    partnerGuarded(
      'stored',
      `DECLARE @before TABLE (status VARCHAR(16) NOT NULL);
    IF EXISTS (${partnerHeldElsewhere.sql(d)}) THROW ${PARTNER_HELD_ERROR}, N'selling partner held by another authorized customer', 1;
    IF EXISTS (${linkedToAnother.sql(d)}) THROW ${PARTNER_CHANGED_ERROR}, N'credential row is authorized for another seller', 1;
    ${releasePartner.sql(d)};
    ${readBeforeUpdate(d.t('credentials'), ['status'], '@before', 'customer_id = @customerId AND region = @region')}
    ${storeGrant.sql(d)};
    IF @@ROWCOUNT = 0 ${insertAuthorizedRow.sql(d)};
    ${insertSelfAuthorization.sql(d)};
    INSERT INTO ${d.t('events')} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM @before WHERE status = 'authorized') THEN 'authorization.reauthorized' ELSE 'authorization.granted' END,
      @customerId, @region, @sellingPartnerId, @now, @eventData;`,
    ),
  sqlite: (tx, p) => {
    if (tx.get(partnerHeldElsewhere, p) !== undefined) return [{ outcome: 'partner_conflict' }];
    if (tx.get(linkedToAnother, p) !== undefined) return [{ outcome: 'partner_changed' }];
    tx.run(releasePartner, p);
    const before = tx.get('SELECT status FROM sp_api_credentials WHERE customer_id = @customerId AND region = @region', p);
    if (tx.run(storeGrant, p) === 0) tx.run(insertAuthorizedRow, p);
    tx.run(insertSelfAuthorization, p);
    tx.run(insertEvent, { ...p, eventType: before?.['status'] === 'authorized' ? 'authorization.reauthorized' : 'authorization.granted' });
    return [{ outcome: 'stored' }];
  },
  sqliteOnDuplicate: [{ outcome: 'partner_conflict' }],
  answer: (rows) => outcomeOf(rows, ['stored', 'partner_changed', 'partner_conflict'] as const),
});
