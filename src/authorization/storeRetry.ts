import type { AuthorizationStore } from '../credentials/index.js';

export type Written<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface StoreRetry {
  store: Pick<AuthorizationStore, 'isTransientError'>;
  sleep: (ms: number) => Promise<void>;
  /** The first pause; each next one doubles, up to maxPauseMs. */
  firstPauseMs: number;
  maxPauseMs: number;
  /** Gives up when the next pause would end later than this after the first try. */
  forMs: number;
}

/**
 * Runs a store write, retrying it with backoff while the store reports a transient failure (locked, busy, deadlock,
 * lost connection). Any other error, or the time running out, ends it with that error.
 */
export async function retryTransient<T>(write: () => Promise<T>, retry: StoreRetry): Promise<Written<T>> {
  const giveUpAt = Date.now() + retry.forMs;
  for (let pause = retry.firstPauseMs; ; pause = Math.min(pause * 2, retry.maxPauseMs)) {
    try {
      return { ok: true, value: await write() };
    } catch (error) {
      if (!retry.store.isTransientError(error) || Date.now() + pause > giveUpAt) return { ok: false, error };
      await retry.sleep(pause);
    }
  }
}
