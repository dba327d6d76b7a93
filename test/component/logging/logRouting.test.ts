import { app } from '@azure/functions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAccessTokenClient } from '../../../src/library/accessTokens.js';
import { consoleLogger, invocationAwareLogger } from '../../../src/logging/logging.js';
import { hostRequest, recordingContext, registerFunctions, type RegisteredFunctions } from '../../support/functionsHost.js';

/**
 * Under the Functions host only lines written through an InvocationContext are recorded at their level with the
 * invocation id; the worker's stdout becomes anonymous Information traces. Lines from the shared LWA client and
 * access-token service must therefore reach the context of the invocation they were logged for.
 */
let f: RegisteredFunctions;
let stdout: string[];
let stderr: string[];

beforeAll(async () => {
  f = await registerFunctions();
});

afterAll(async () => {
  await f?.close();
});

/** Captures (and silences) what this process writes to stdout and stderr from now on. */
function captureStreams(): void {
  stdout = [];
  stderr = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

/** The incident monitor's one line for the fleet (the LWA client logs none of its own). */
const INCIDENT = "incident started: Login with Amazon refuses Shipica's client credentials (invalid_client / unauthorized_client)";
const REVOKED = 'seller authorization revoked';

function forcedRefresh(customerId: string) {
  return hostRequest('POST', `https://spapi-auth.example.net/api/customers/${customerId}/access-token?region=NA&refresh=true`, { params: { customerId } });
}

describe('log routing under the Functions host', () => {
  it("writes the invalid_client incident line through the AccessToken invocation's context at level error, not to stdout", async () => {
    await f.authorize('incident-42', 'A1SANDBOXSELLER1');
    f.pastForcedRefreshReuse('incident-42');
    f.lwa.fail({ status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'Client authentication failed' }) });
    const { context, lines } = recordingContext('AccessToken');
    captureStreams();

    const response = await f.invoke('AccessToken', forcedRefresh('incident-42'), context);

    expect(response.status).toBe(503);
    expect(lines.filter((l) => l.text.startsWith(INCIDENT)).map((l) => l.level)).toEqual(['error']);
    expect(stdout.join('')).not.toContain(INCIDENT);
    expect(stderr.join('')).not.toContain(INCIDENT);
  });

  it("writes each concurrent invocation's revocation warning through its own context", async () => {
    await f.authorize('revoked-1', 'A2SANDBOXSELLER2');
    await f.authorize('revoked-2', 'A3SANDBOXSELLER3');
    f.pastForcedRefreshReuse('revoked-1');
    f.pastForcedRefreshReuse('revoked-2');
    f.lwa.fail({ status: 400, body: JSON.stringify({ error: 'invalid_grant' }) }, { status: 400, body: JSON.stringify({ error: 'invalid_grant' }) });
    const first = recordingContext('AccessToken');
    const second = recordingContext('AccessToken');

    const responses = await Promise.all([
      f.invoke('AccessToken', forcedRefresh('revoked-1'), first.context),
      f.invoke('AccessToken', forcedRefresh('revoked-2'), second.context),
    ]);

    expect(responses.map((r) => r.status)).toEqual([409, 409]);
    const revocations = (lines: Array<{ level: string; text: string }>) => lines.filter((l) => l.text.startsWith(REVOKED));
    expect(revocations(first.lines).map((l) => [l.level, l.text.includes('"customerId":"revoked-1"')])).toEqual([['warning', true]]);
    expect(revocations(second.lines).map((l) => [l.level, l.text.includes('"customerId":"revoked-2"')])).toEqual([['warning', true]]);
  });

  it('writes a warning logged outside any invocation to stderr as a JSON line, not to stdout', async () => {
    await f.authorize('outside-7', 'A4OUTSIDESELLER');
    f.pastForcedRefreshReuse('outside-7');
    f.lwa.fail({ status: 400, body: JSON.stringify({ error: 'invalid_grant' }) });
    captureStreams();

    // The access-token library in the same process, called from no invocation: the service logs the revocation.
    await expect(createAccessTokenClient(f.app).getAccessToken({ customerId: 'outside-7', region: 'NA', forceRefresh: true })).rejects.toMatchObject({
      code: 'authorization_revoked',
    });

    const warnings = stderr.flatMap((chunk) => chunk.split('\n')).filter((line) => line.includes(REVOKED));
    expect(warnings.map((line) => (JSON.parse(line) as { level: string; customerId: string })).map((l) => [l.level, l.customerId])).toEqual([['warn', 'outside-7']]);
    expect(stdout.join('')).not.toContain(REVOKED);
  });

  it('writes an info line logged outside any invocation to stdout, not to stderr', () => {
    captureStreams();
    invocationAwareLogger(consoleLogger()).info('outside info line', { n: 1 });
    expect(stdout.join('')).toContain('"message":"outside info line"');
    expect(stderr.join('')).not.toContain('outside info line');
  });
});

describe('start-up log routing', () => {
  it('writes a start-up settings problem to stderr as an error line, not to stdout', async () => {
    // A fresh module graph: a new process-wide app that reads the (now broken) settings when it registers.
    vi.resetModules();
    vi.stubEnv('LAUNCH_LINK_SECRET', undefined);
    vi.spyOn(app, 'http').mockImplementation(() => undefined);
    vi.spyOn(app, 'timer').mockImplementation(() => undefined);
    captureStreams();

    await import('../../../src/functions/index.js');

    const problems = stderr.flatMap((chunk) => chunk.split('\n')).filter((line) => line.includes('invalid setting'));
    expect(problems.map((line) => JSON.parse(line) as { level: string; problem: string })).toEqual([
      expect.objectContaining({ level: 'error', problem: 'LAUNCH_LINK_SECRET is required.' }),
    ]);
    expect(stdout.join('')).not.toContain('invalid setting');
  });
});
