import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/credentials/index.js';
import { SandboxLwa } from '../../../src/sandbox/sandboxLwa.js';

const clientId = 'amzn1.application-oa2-client.sandbox-test';
const clientSecret = 'sandbox-client-secret-0123456789abcdef';
const refresh = (lwa: SandboxLwa, token: string) =>
  lwa.handleTokenRequest(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId, client_secret: clientSecret })).status;

describe('SandboxLwa.revokeGrant: one grant, not the seller', () => {
  it("refuses that refresh token only: the seller's other grant refreshes, and a restart with the saved ids keeps the revocation", () => {
    let saved: readonly string[] = [];
    const lwa = new SandboxLwa({ clientId, clientSecret, clock: systemClock, saveRevokedGrants: (grants) => (saved = grants) });
    const na = lwa.selfAuthorize('A1SANDBOXSELLER1');
    const eu = lwa.selfAuthorize('A1SANDBOXSELLER1');
    expect(lwa.revokeGrant(na)).toBe(true);
    expect([refresh(lwa, na), refresh(lwa, eu)]).toEqual([400, 200]);
    expect(saved).toHaveLength(1);
    expect(saved[0]).not.toContain(na.slice(5, 30)); // an id, never the token
    const restarted = new SandboxLwa({ clientId, clientSecret, clock: systemClock, revokedGrants: saved });
    expect([refresh(restarted, na), refresh(restarted, eu)]).toEqual([400, 200]);
    expect(lwa.revokeGrant('Atzr|not-one-of-ours')).toBe(false);
  });
});
