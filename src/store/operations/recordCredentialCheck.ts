import { insertEvent, statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation } from './operation.js';
import { readBeforeUpdate } from './tsql.js';

/** @seen: SP-API answered (its marketplaces and store are written); @setsFlag: the outcome sets @flag (null clears it). */
const writeCheck = statement(
  {
    customerId: C.customer_id,
    region: C.region,
    now: C.datetime,
    outcome: C.check_outcome,
    error: C.check_error,
    seen: C.int,
    marketplaceIds: C.marketplace_ids,
    countryCodes: C.country_codes,
    storeName: C.store_name,
    setsFlag: C.int,
    flag: C.flag,
  },
  (d) => `UPDATE ${d.t('checks')} SET
      lease_until = NULL, checked_at = @now, check_outcome = @outcome, check_error = @error,
      verified_at = CASE WHEN @seen = 1 THEN @now ELSE verified_at END,
      marketplace_ids = CASE WHEN @seen = 1 THEN @marketplaceIds ELSE marketplace_ids END,
      country_codes = CASE WHEN @seen = 1 THEN @countryCodes ELSE country_codes END,
      store_name = CASE WHEN @seen = 1 THEN @storeName ELSE store_name END,
      flag = CASE WHEN @setsFlag = 1 THEN @flag ELSE flag END
    WHERE customer_id = @customerId AND region = @region`,
);

/**
 * A check recorded and its lease released, in one transaction, with the flag's event (@eventType, when given) only
 * when the flag is new: the flag is read before the UPDATE replaces it.
 */
export const recordCredentialCheck = operation({
  name: 'record_credential_check',
  params: { ...writeCheck.params, eventType: C.event_type, sellingPartnerId: C.selling_partner_id, eventData: C.data },
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @before TABLE (flag VARCHAR(32) NULL);
  BEGIN TRANSACTION;
  ${readBeforeUpdate(d.t('checks'), ['flag'], '@before', 'customer_id = @customerId AND region = @region')}
  ${writeCheck.sql(d)};
  IF @eventType IS NOT NULL
    INSERT INTO ${d.t('events')} (event_type, customer_id, region, selling_partner_id, occurred_at, data)
    SELECT @eventType, @customerId, @region, @sellingPartnerId, @now, @eventData FROM @before WHERE flag IS NULL OR flag <> @flag;
  COMMIT TRANSACTION;`,
  sqlite: (tx, p) => {
    const before = tx.get('SELECT flag FROM sp_api_credential_checks WHERE customer_id = @customerId AND region = @region', p);
    tx.run(writeCheck, p);
    if (p.eventType !== null && before !== undefined && before['flag'] !== p.flag) tx.run(insertEvent, p);
    return [];
  },
  answer: (): void => undefined,
});
