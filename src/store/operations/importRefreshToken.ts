import { insertEvent, partnerHeldElsewhere, releasePartner, statement, storeGrant } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation, outcomeOf } from './operation.js';
import { PARTNER_CHANGED_ERROR, PARTNER_HELD_ERROR, partnerGuarded, readBeforeUpdate, TOKEN_IN_USE_ERROR } from './tsql.js';

const linkedToAnother = statement(
  { customerId: C.customer_id, scope: C.scope, region: C.region, sellingPartnerId: C.selling_partner_id },
  (d) => `SELECT 1 AS linked FROM ${d.t('credentials')}
    WHERE customer_id = @customerId AND scope = @scope AND status = 'authorized'
      AND selling_partner_id IS NOT NULL AND selling_partner_id <> @sellingPartnerId`,
);
/** Another credential row holding this refresh token: its fingerprint under any key of the ring is in @fingerprints. */
const tokenHeldElsewhere = statement(
  { customerId: C.customer_id, scope: C.scope, fingerprints: C.list },
  (d) => `SELECT 1 AS held FROM ${d.t('credentials')}
    WHERE refresh_token_fingerprint IS NOT NULL AND ${d.listed('refresh_token_fingerprint', '@fingerprints')}
      AND NOT (customer_id = @customerId AND scope = @scope)`,
);
const insertAuthorizedRow = statement(
  { ...storeGrant.params, region: C.region },
  (d) => `INSERT INTO ${d.t('credentials')}
      (customer_id, scope, region, marketplace, selling_partner_id, lwa_refresh_token, refresh_token_fingerprint, status,
       auth_requested_date, auth_granted_date, lwa_refresh_token_date, updated_at)
    VALUES (@customerId, @scope, @region, @marketplace, @sellingPartnerId, @encryptedRefreshToken, @refreshTokenFingerprint, 'authorized',
       @now, @now, @now, @now)`,
);

const insertSelfAuthorization = statement(
  { customerId: C.customer_id, scope: C.scope, region: C.region, marketplace: C.marketplace, sellingPartnerId: C.selling_partner_id, now: C.datetime },
  (d) => `INSERT INTO ${d.t('attempts')} (flow, customer_id, scope, region, marketplace, selling_partner_id, created_at, consumed_at, completed_at, outcome)
    VALUES ('self_authorization', @customerId, @scope, @region, @marketplace, @sellingPartnerId, @now, @now, @now, 'succeeded')`,
);

/**
 * A self-authorized refresh token stored as an authorization, in one transaction: refused as 'token_in_use' when
 * another credential row holds the same refresh token (compared by fingerprint), as 'partner_conflict' when another
 * customer's authorized row holds the seller, as 'partner_changed' when the row is authorized for another seller
 * (nothing written); else the grant (the row created authorized when missing), a `self_authorization`
 * attempt, and authorization.granted (.reauthorized when the row was authorized before).
 */
export const importRefreshToken = operation({
  name: 'import_refresh_token',
  params: { ...insertAuthorizedRow.params, ...tokenHeldElsewhere.params, eventData: C.data },
  tsql: (d) =>
    partnerGuarded(
      'stored',
      `DECLARE @before TABLE (status VARCHAR(16) NOT NULL);
    IF EXISTS (${tokenHeldElsewhere.sql(d)}) THROW ${TOKEN_IN_USE_ERROR}, N'refresh token held by another credential', 1;
    IF EXISTS (${partnerHeldElsewhere.sql(d)}) THROW ${PARTNER_HELD_ERROR}, N'selling partner held by another authorized customer', 1;
    IF EXISTS (${linkedToAnother.sql(d)}) THROW ${PARTNER_CHANGED_ERROR}, N'credential row is authorized for another seller', 1;
    ${releasePartner.sql(d)};
    ${readBeforeUpdate(d.t('credentials'), ['status'], '@before', 'customer_id = @customerId AND scope = @scope')}
    ${storeGrant.sql(d)};
    IF @@ROWCOUNT = 0 ${insertAuthorizedRow.sql(d)};
    ${insertSelfAuthorization.sql(d)};
    INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM @before WHERE status = 'authorized') THEN 'authorization.reauthorized' ELSE 'authorization.granted' END,
      @customerId, @scope, @region, @sellingPartnerId, @now, @eventData;`,
    ),
  sqlite: (tx, p) => {
    if (tx.get(tokenHeldElsewhere, p) !== undefined) return [{ outcome: 'token_in_use' }];
    if (tx.get(partnerHeldElsewhere, p) !== undefined) return [{ outcome: 'partner_conflict' }];
    if (tx.get(linkedToAnother, p) !== undefined) return [{ outcome: 'partner_changed' }];
    tx.run(releasePartner, p);
    const before = tx.get('SELECT status FROM sp_api_credentials WHERE customer_id = @customerId AND scope = @scope', p);
    if (tx.run(storeGrant, p) === 0) tx.run(insertAuthorizedRow, p);
    tx.run(insertSelfAuthorization, p);
    tx.run(insertEvent, { ...p, eventType: before?.['status'] === 'authorized' ? 'authorization.reauthorized' : 'authorization.granted' });
    return [{ outcome: 'stored' }];
  },
  sqliteOnDuplicate: [{ outcome: 'partner_conflict' }],
  answer: (rows) => outcomeOf(rows, ['stored', 'partner_changed', 'partner_conflict', 'token_in_use'] as const),
});
