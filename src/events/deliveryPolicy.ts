/**
 * The waits between tries of one event, in ms: exponential from 30 s, 10 tries over about 24 hours (23 h 42 min from
 * the first try to the last). After the last one the event is `failed` and the seller's next event goes on.
 */
export const DELIVERY_BACKOFF_MS: readonly number[] = [
  30_000, 2 * 60_000, 10 * 60_000, 30 * 60_000, 60 * 60_000, 2 * 3_600_000, 4 * 3_600_000, 8 * 3_600_000, 8 * 3_600_000,
];
export const MAX_DELIVERY_ATTEMPTS = DELIVERY_BACKOFF_MS.length + 1;

/** When to try again after the `attempts`-th failed try (1-based), or null when that was the last try. */
export function nextDeliveryAttempt(attempts: number, now: Date): Date | null {
  const wait = DELIVERY_BACKOFF_MS[attempts - 1];
  return wait === undefined ? null : new Date(now.getTime() + wait);
}

/** How long one claimed event is left to its deliverer before another may try it (a process that died mid-POST). */
export const DELIVERY_LEASE_MS = 2 * 60_000;
