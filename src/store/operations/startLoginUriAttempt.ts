import { MAX_OPEN_ATTEMPTS, regionOfScope, type LoginUriStartResult } from '../../credentials/index.js';
import { text, toScope } from '../sql/rows.js';
import { countOpenAttempts, insertStartedAttempt } from '../sql/statements.js';
import { COLUMNS as C } from '../sql/types.js';
import { operation, outcomeOf } from './operation.js';

/**
 * The Login URI's one write: the rows holding the seller (in @scope when given; two already mean ambiguous), and for
 * exactly one, startAuthorization's count and INSERT of a `reauthorize` attempt (no credential column written). The
 * attempt's marketplace is the row's when it is in @marketplaces (a comma-framed list of codes), else the scope's
 * default: @defaultNA, @defaultEU, and in the Far East the scope's own marketplace.
 */
export const startLoginUriAttempt = operation({
  name: 'start_login_uri_attempt',
  params: {
    sellingPartnerId: C.selling_partner_id,
    scope: C.scope,
    marketplaces: C.list,
    defaultNA: C.marketplace,
    defaultEU: C.marketplace,
    stateHash: C.state_hash,
    browserBindingHash: C.state_hash,
    createdAt: C.datetime,
    expiresAt: C.datetime,
  },
  lookups: ['sellingPartnerId'],
  absent: { kind: 'unknown_seller' } as LoginUriStartResult,
  tsql: (d) => `SET XACT_ABORT ON;
  DECLARE @found TABLE (customer_id NVARCHAR(64) NOT NULL, scope VARCHAR(2) NOT NULL, region VARCHAR(2) NOT NULL, marketplace VARCHAR(2) NULL);
  DECLARE @outcome VARCHAR(16), @customerId NVARCHAR(64) = NULL, @region VARCHAR(2) = NULL, @marketplace VARCHAR(2) = NULL,
    @flow VARCHAR(32) = 'reauthorize', @expectedSellingPartnerId VARCHAR(64) = @sellingPartnerId;
  BEGIN TRANSACTION;
  INSERT INTO @found (customer_id, scope, region, marketplace)
  SELECT TOP (2) customer_id, scope, region, marketplace FROM ${d.t('credentials')}
  WHERE selling_partner_id = @sellingPartnerId AND (@scope IS NULL OR scope = @scope);
  IF (SELECT COUNT(*) FROM @found) = 0
    SET @outcome = 'unknown_seller';
  ELSE IF (SELECT COUNT(*) FROM @found) > 1
    SET @outcome = 'ambiguous';
  ELSE
  BEGIN
    SELECT @customerId = customer_id, @scope = scope, @region = region,
      @marketplace = CASE
        WHEN marketplace IS NOT NULL AND CHARINDEX(',' + marketplace + ',', @marketplaces) > 0 THEN marketplace
        WHEN scope = 'NA' THEN @defaultNA
        WHEN scope = 'EU' THEN @defaultEU
        ELSE scope
      END
    FROM @found;
    IF (${countOpenAttempts.sql(d)}) >= ${MAX_OPEN_ATTEMPTS}
      SET @outcome = 'too_many_open';
    ELSE
    BEGIN
      ${insertStartedAttempt.sql(d)};
      SET @outcome = 'started';
    END;
  END;
  COMMIT TRANSACTION;
  SELECT @outcome AS outcome, @customerId AS customer_id, @scope AS scope, @marketplace AS marketplace;`,
  sqlite: (tx, p) => {
    const rows = tx.all(
      'SELECT customer_id, scope, marketplace FROM sp_api_credentials WHERE selling_partner_id = @sellingPartnerId AND (@scope IS NULL OR scope = @scope) LIMIT 2',
      p,
    );
    const [row] = rows;
    if (row === undefined) return [{ outcome: 'unknown_seller' }];
    if (rows.length > 1) return [{ outcome: 'ambiguous' }];
    const scope = toScope(row['scope']);
    const stored = text(row['marketplace']);
    const fallback = scope === 'NA' ? p.defaultNA : scope === 'EU' ? p.defaultEU : scope;
    const marketplace = stored !== null && (p.marketplaces ?? '').includes(`,${stored},`) ? stored : fallback;
    const attempt = { ...p, customerId: row['customer_id'], scope, region: regionOfScope(scope), marketplace, flow: 'reauthorize', expectedSellingPartnerId: p.sellingPartnerId };
    const answer = { customer_id: row['customer_id'], scope, marketplace };
    if (Number(tx.get(countOpenAttempts, attempt)?.['n']) >= MAX_OPEN_ATTEMPTS) return [{ outcome: 'too_many_open', ...answer }];
    tx.run(insertStartedAttempt, attempt);
    return [{ outcome: 'started', ...answer }];
  },
  answer: (rows): LoginUriStartResult => {
    const kind = outcomeOf(rows, ['started', 'unknown_seller', 'ambiguous', 'too_many_open'] as const);
    if (kind === 'unknown_seller' || kind === 'ambiguous') return { kind };
    const row = rows[0] ?? {};
    const customerId = text(row['customer_id']);
    if (customerId === null) throw new Error(`startLoginUriAttempt answered ${kind} without a customer`);
    const scope = toScope(row['scope']);
    if (kind === 'too_many_open') return { kind, customerId, scope };
    const marketplace = text(row['marketplace']);
    if (marketplace === null) throw new Error('startLoginUriAttempt answered started without a marketplace');
    return { kind, customerId, scope, marketplace };
  },
});
