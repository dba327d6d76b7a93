import type { Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hostRequest, recordingContext, registerFunctions, type RegisteredFunctions } from '../../support/functionsHost.js';

/**
 * Issue 16.6: a setting only one timer reads fails that timer alone. A five-field CREDENTIAL_SWEEP_SCHEDULE and an
 * EVENTS_WEBHOOK_URL without its secret, under the Functions worker's stand-in: the seller flow and the access tokens
 * keep serving, /api/health answers 200 naming both problems as the jobs', and each timer refuses to run (a failed
 * invocation, one error line through its context).
 */
let f: RegisteredFunctions;
beforeAll(async () => {
  vi.stubEnv('CREDENTIAL_SWEEP_SCHEDULE', '30 3 * * *');
  vi.stubEnv('EVENTS_WEBHOOK_URL', 'https://app.shipica.example/hooks/spapi');
  vi.stubEnv('EVENTS_WEBHOOK_SECRET', undefined);
  f = await registerFunctions();
});
afterAll(async () => {
  await f.close();
});

const origin = 'https://spapi-auth.example.net';
const SWEEP_PROBLEM = 'CREDENTIAL_SWEEP_SCHEDULE must be an NCRONTAB expression of six fields (seconds first), e.g. "0 30 3 * * *".';
const WEBHOOK_PROBLEM = 'EVENTS_WEBHOOK_SECRET is required with EVENTS_WEBHOOK_URL.';
const timerInfo: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

describe('a setting only one job reads fails only that job (16.6)', () => {
  it('the seller flow and the access tokens serve', async () => {
    await f.authorize('42', 'A1SANDBOXSELLER1');
    const res = await f.invoke('AccessToken', hostRequest('POST', `${origin}/api/customers/42/access-token`, { params: { customerId: '42' } }));
    expect(res.status).toBe(200);
    expect(JSON.parse(String(res.body))).toMatchObject({ customer_id: '42', selling_partner_id: 'A1SANDBOXSELLER1' });
  });

  it('/api/health answers 200, naming each problem as its job\'s', async () => {
    const res = await f.invoke('Health', hostRequest('GET', `${origin}/api/health`));
    expect({ status: res.status, body: JSON.parse(String(res.body)) as unknown }).toEqual({
      status: 200,
      body: {
        status: 'ok',
        warnings: [`EventDelivery does not run: ${WEBHOOK_PROBLEM}`, `CredentialSweep does not run: ${SWEEP_PROBLEM}`],
        jobs: { EventDelivery: { status: 'error', problems: [WEBHOOK_PROBLEM] }, CredentialSweep: { status: 'error', problems: [SWEEP_PROBLEM] } },
      },
    });
  });

  it('the host still loads the sweep (its default schedule), and each timer refuses to run: one error line naming the setting, then a rejection', async () => {
    expect(f.timers.get('CredentialSweep')?.schedule).toBe('0 30 3 * * *');
    for (const [name, problem] of [
      ['EventDelivery', WEBHOOK_PROBLEM],
      ['CredentialSweep', SWEEP_PROBLEM],
    ] as const) {
      const { context, lines } = recordingContext(name);
      await expect(f.timers.get(name)?.handler(timerInfo, context)).rejects.toThrow(`${name} did not run: ${problem}`);
      expect(lines).toEqual([{ level: 'error', text: `${name} did not run: ${problem}` }]);
    }
  });
});
