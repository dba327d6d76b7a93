import { storeSharedAccessToken as writeToken } from '../sql/statements.js';
import { countOf, operation } from './operation.js';

/**
 * The fleet's token write, one statement (sql/statements.ts), made a procedure because its request carries two
 * envelopes: as a query its text would push it past one TDS packet.
 */
export const storeSharedAccessToken = operation({
  name: 'store_shared_access_token',
  params: writeToken.params,
  lookups: ['customerId'],
  absent: false,
  tsql: (d) => `${writeToken.sql(d)};
  SELECT @@ROWCOUNT AS changed;`,
  sqlite: (tx, p) => [{ changed: tx.run(writeToken, p) }],
  answer: (rows) => countOf(rows, 'changed') === 1,
});
