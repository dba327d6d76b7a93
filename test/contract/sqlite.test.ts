import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openSqliteStore } from '../../src/store/openStore.js';
import { describeStoreContract } from './credentialStore.contract.js';

/** The contract against SqliteStore: a fresh database file per test, in the OS temp folder, removed afterwards. */
describeStoreContract('SqliteStore', async () => {
  const path = join(tmpdir(), `spapi-contract-${randomUUID()}.sqlite`);
  const store = await openSqliteStore(path);
  return {
    store,
    cleanup: async () => {
      await store.close();
      await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${path}${suffix}`, { force: true })));
    },
  };
});
