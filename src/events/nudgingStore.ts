import type { CredentialStore } from '../credentials/index.js';

/** The store methods that write an event in the transaction of their change (see CredentialStore). */
export const EVENT_WRITING_METHODS: ReadonlySet<string> = new Set([
  'completeAuthorization',
  'failAuthorization',
  'markRevoked',
  'restoreRevoked',
  'unlinkCredential',
  'recordCredentialCheck',
  'recordDeadlineReminder',
  'importRefreshToken',
  'recordIncident',
  'endIncident',
]);

/**
 * The store, with `afterChange` called (not awaited) once any method that writes an event has resolved: how delivery
 * is "attempted right after the change" without the flow knowing about events, and without the seller's page
 * waiting for it. Every other method, and every method added later, passes through untouched.
 */
export function nudgingStore(store: CredentialStore, afterChange: () => void): CredentialStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !EVENT_WRITING_METHODS.has(property) || typeof value !== 'function') {
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      }
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return async (...args: unknown[]): Promise<unknown> => {
        const result = await method.apply(target, args);
        afterChange();
        return result;
      };
    },
  });
}
