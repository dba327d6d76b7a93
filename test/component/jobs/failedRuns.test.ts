import { randomBytes } from 'node:crypto';
import type { Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordingContext, registerFunctions, type RegisteredFunctions } from '../../support/functionsHost.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../support/webhookReceiver.js';

/**
 * Issue 16.5: a timer run whose store fails is a failed invocation. Under the Functions worker (the stand-in of
 * support/functionsHost.ts: src/functions/index.ts as the host indexes it), the run logs its error through the
 * invocation's context, then the handler rejects, so the host records a failure instead of a success.
 */
let f: RegisteredFunctions;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver(`whsec_${randomBytes(32).toString('base64')}`);
  vi.stubEnv('EVENTS_WEBHOOK_URL', receiver.url);
  vi.stubEnv('EVENTS_WEBHOOK_SECRET', receiver.secret);
  f = await registerFunctions();
});
afterAll(async () => {
  await f.close();
  await receiver.close();
});

const timerInfo: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

async function runTimer(name: string): Promise<{ outcome: string; lines: Array<{ level: string; text: string }> }> {
  const options = f.timers.get(name);
  if (options === undefined) throw new Error(`no timer ${name}`);
  const { context, lines } = recordingContext(name);
  try {
    await options.handler(timerInfo, context);
    return { outcome: 'succeeded', lines };
  } catch (error) {
    return { outcome: `failed: ${error instanceof Error ? error.message : String(error)}`, lines };
  }
}

/** The process-wide app's store, closed under it: every store call now throws, as a store that went away does. */
async function breakTheStore(): Promise<void> {
  const state = await f.app.state();
  if (!state.ok) throw new Error(state.problems.join('; '));
  await state.services.events.settle();
  await state.services.store.close();
}

describe('a timer run whose store fails is a failed invocation (16.5)', () => {
  it('with a working store both timers succeed and log nothing at error level', async () => {
    await f.authorize('42', 'A1SANDBOXSELLER1');
    for (const name of ['EventDelivery', 'CredentialSweep']) {
      const run = await runTimer(name);
      expect({ name, outcome: run.outcome, errors: run.lines.filter((l) => l.level === 'error') }).toEqual({ name, outcome: 'succeeded', errors: [] });
    }
  });

  it('EventDelivery and CredentialSweep with a failing store: "<name> failed" through the context at error level, then the handler rejects', async () => {
    await breakTheStore();
    try {
      for (const name of ['EventDelivery', 'CredentialSweep']) {
        const run = await runTimer(name);
        expect(run.outcome).toMatch(new RegExp(`^failed: ${name} failed: `));
        const errors = run.lines.filter((l) => l.level === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0]?.text).toMatch(new RegExp(`^${name} failed \\{"error":`));
      }
    } finally {
      // The next state() opens the store again, for the files' other tests and close().
      await f.app.close();
    }
    expect((await runTimer('EventDelivery')).outcome).toBe('succeeded');
  });
});
