import { createHash } from 'node:crypto';
import type { RandomSource } from '../credentials/index.js';

/**
 * OAuth `state`: 32 random bytes (256 bits, as LWA asks), base64url. Only its SHA-256 is stored; the raw value
 * lives in the consent URL and comes back on the callback. A second random value, the browser binding, goes into a
 * cookie so a callback is honoured only in the browser that started it.
 */
export const STATE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newState(random: RandomSource): string {
  return random.bytes(32).toString('base64url');
}

export function newBrowserBinding(random: RandomSource): string {
  return random.bytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function isWellFormedState(value: string): boolean {
  return STATE_PATTERN.test(value);
}

/**
 * One cookie per state, so two authorizations started in two tabs (say NA and EU) do not overwrite each other's
 * binding. The name carries a prefix of the state's hash, never the state.
 */
export function bindingCookieName(stateHash: string): string {
  return `spapi_auth_${stateHash.slice(0, 16)}`;
}
