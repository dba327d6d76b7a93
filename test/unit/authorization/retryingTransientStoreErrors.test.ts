import { describe, expect, it } from 'vitest';
import { retryTransient, type StoreRetry } from '../../../src/authorization/storeRetry.js';

const BUSY = new Error('database is locked');
const BROKEN = new Error('no such table');

/** A write that fails with `failures` in turn, then answers 'stored'; and a retry policy that records its pauses. */
function scripted(failures: Error[], policy: Partial<StoreRetry> = {}) {
  const pauses: number[] = [];
  let calls = 0;
  const write = async (): Promise<string> => {
    const failure = failures[calls++];
    if (failure !== undefined) throw failure;
    return 'stored';
  };
  const retry: StoreRetry = {
    store: { isTransientError: (error) => error === BUSY },
    sleep: async (ms) => void pauses.push(ms),
    firstPauseMs: 25,
    maxPauseMs: 100,
    forMs: 60_000,
    ...policy,
  };
  return { write, retry, pauses, calls: () => calls };
}

describe('retryTransient', () => {
  it('answers the first success, without a pause', async () => {
    const s = scripted([]);
    expect(await retryTransient(s.write, s.retry)).toEqual({ ok: true, value: 'stored' });
    expect([s.calls(), s.pauses]).toEqual([1, []]);
  });

  it('retries transient failures with doubling pauses, capped', async () => {
    const s = scripted([BUSY, BUSY, BUSY, BUSY]);
    expect(await retryTransient(s.write, s.retry)).toEqual({ ok: true, value: 'stored' });
    expect(s.pauses).toEqual([25, 50, 100, 100]);
  });

  it('gives up at once on an error that is not transient, with that error', async () => {
    const s = scripted([BUSY, BROKEN]);
    expect(await retryTransient(s.write, s.retry)).toEqual({ ok: false, error: BROKEN });
    expect([s.calls(), s.pauses]).toEqual([2, [25]]);
  });

  it('gives up when the next pause would end past its time, with the last error', async () => {
    const s = scripted([BUSY, BUSY], { forMs: 0 });
    expect(await retryTransient(s.write, s.retry)).toEqual({ ok: false, error: BUSY });
    expect([s.calls(), s.pauses]).toEqual([1, []]);
  });
});
