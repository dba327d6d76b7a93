import { sqliteDialect, type Dialect } from '../sql/dialect.js';
import { insertEvent, statement } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation } from './operation.js';
import { readBeforeUpdate } from './tsql.js';

/** @seen: SP-API answered (its marketplaces and store are written); @setsFlag: the outcome sets @flag (null clears it). */
const writeCheck = statement(
  {
    customerId: C.customer_id,
    scope: C.scope,
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
    WHERE customer_id = @customerId AND scope = @scope`,
);

/** authorization.flag_cleared: a flag the row had is cleared (@setsFlag with a NULL @flag), naming the flag and the seller. */
const insertFlagCleared = (d: Dialect, flagColumn: string, from: string) => `INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT 'authorization.flag_cleared', c.customer_id, c.scope, c.region, c.selling_partner_id, @now, CONCAT('{"flag":"', ${flagColumn}, '"}')
    FROM ${from} CROSS JOIN ${d.t('credentials')} AS c
    WHERE c.customer_id = @customerId AND c.scope = @scope AND ${flagColumn} IS NOT NULL AND @setsFlag = 1 AND @flag IS NULL`;

/**
 * A check recorded and its lease released, in one transaction, with the flag's event (@eventType, when given) only
 * when the flag is new, and authorization.flag_cleared when it clears a flag: the flag is read before the UPDATE
 * replaces it.
 */
export const recordCredentialCheck = operation({
  name: 'record_credential_check',
  params: { ...writeCheck.params, eventType: C.event_type, sellingPartnerId: C.selling_partner_id, eventData: C.data },
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @before TABLE (flag VARCHAR(32) NULL);
  BEGIN TRANSACTION;
  ${readBeforeUpdate(d.t('checks'), ['flag'], '@before', 'customer_id = @customerId AND scope = @scope')}
  ${writeCheck.sql(d)};
  IF @eventType IS NOT NULL
    INSERT INTO ${d.t('events')} (event_type, customer_id, scope, region, selling_partner_id, occurred_at, data)
    SELECT @eventType, @customerId, @scope, @region, @sellingPartnerId, @now, @eventData FROM @before WHERE flag IS NULL OR flag <> @flag;
  ${insertFlagCleared(d, 'b.flag', '@before AS b')};
  COMMIT TRANSACTION;`,
  sqlite: (tx, p) => {
    const before = tx.get('SELECT flag FROM sp_api_credential_checks WHERE customer_id = @customerId AND scope = @scope', p);
    tx.run(writeCheck, p);
    if (p.eventType !== null && before !== undefined && before['flag'] !== p.flag) tx.run(insertEvent, p);
    if (before !== undefined) tx.run(insertFlagCleared(sqliteDialect, '@previousFlag', '(SELECT 1)'), { ...p, previousFlag: before['flag'] ?? null });
    return [];
  },
  answer: (): void => undefined,
});
