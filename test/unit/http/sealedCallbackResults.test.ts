import { describe, expect, it } from 'vitest';
import type { CallbackOutcome } from '../../../src/authorization/outcomes.js';
import { openResult, RESULT_LIFETIME_SECONDS, sealResult } from '../../../src/http/callbackResult.js';

/** The sealed result id of post/redirect/get: opaque, tamper-proof, short-lived. */
const SECRET = 'launch-link-secret-of-at-least-32-bytes!!';
const NOW = 1_800_000_000_000;
const authorized: CallbackOutcome = { kind: 'authorized', customerId: 'customer-42', scope: 'EU', marketplace: 'DE', sellingPartnerId: 'A1SANDBOXSELLER1' };

describe('sealed callback results', () => {
  it('an id opens to the outcome it sealed, every field kept', () => {
    const failed: CallbackOutcome = { kind: 'failed', reason: 'partner_changed', marketplace: 'US', lwaError: undefined, partners: { linked: 'A1X', returned: 'A2Y', scope: 'NA' } };
    for (const outcome of [authorized, failed, { kind: 'refused', reason: 'state_expired', marketplace: undefined } as const]) {
      const opened = openResult(sealResult(outcome, SECRET, NOW), SECRET, NOW + 1000);
      expect(opened).toEqual({ ok: true, outcome });
    }
  });

  it('an id shows neither customer nor seller id', () => {
    const id = sealResult(authorized, SECRET, NOW);
    const decoded = id.split('.').map((part) => Buffer.from(part, 'base64url').toString('latin1')).join('');
    expect(decoded).not.toContain('customer-42');
    expect(decoded).not.toContain('A1SANDBOXSELLER1');
  });

  it('an id changed by one character does not open', () => {
    const id = sealResult(authorized, SECRET, NOW);
    const middle = Math.floor(id.length / 2);
    const changed = `${id.slice(0, middle)}${id[middle] === 'A' ? 'B' : 'A'}${id.slice(middle + 1)}`;
    expect(openResult(changed, SECRET, NOW)).toEqual({ ok: false, why: 'invalid' });
  });

  it('an id sealed under another LAUNCH_LINK_SECRET does not open', () => {
    expect(openResult(sealResult(authorized, `${SECRET}-other`, NOW), SECRET, NOW)).toEqual({ ok: false, why: 'invalid' });
  });

  it('an id older than its lifetime is expired', () => {
    const id = sealResult(authorized, SECRET, NOW);
    expect(openResult(id, SECRET, NOW + RESULT_LIFETIME_SECONDS * 1000 - 1000).ok).toBe(true);
    expect(openResult(id, SECRET, NOW + RESULT_LIFETIME_SECONDS * 1000)).toEqual({ ok: false, why: 'expired' });
  });

  it.each(['', 'a.b', 'a.b.c', '%%%.x.y', 'x'.repeat(20_000)])('%j is not an id', (id) => {
    expect(openResult(id, SECRET, NOW)).toEqual({ ok: false, why: 'invalid' });
  });
});
