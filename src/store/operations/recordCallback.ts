import { recordCallbackOnRow, releasePartner } from '../sql/statements.js';
import { operation, outcomeOf } from './operation.js';
import { partnerGuarded } from './tsql.js';

/**
 * The seed's step 1 alone (acceptCallback does it for the flow; this stays for building rows in the contract and
 * migration tests): release the partner from other customers' unauthorized rows, record the callback; the partner
 * index refusing the write answers 'partner_conflict' with nothing written.
 */
export const recordCallback = operation({
  name: 'record_callback',
  params: recordCallbackOnRow.params,
  tsql: (d) => partnerGuarded('recorded', `${releasePartner.sql(d)};\n    ${recordCallbackOnRow.sql(d)};`),
  sqlite: (tx, p) => {
    tx.run(releasePartner, p);
    tx.run(recordCallbackOnRow, p);
    return [{ outcome: 'recorded' }];
  },
  sqliteOnDuplicate: [{ outcome: 'partner_conflict' }],
  answer: (rows) => outcomeOf(rows, ['recorded', 'partner_conflict'] as const),
});
