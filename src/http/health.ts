import { describeError, isOpen, type EnvelopeSample, type IncidentRecord, type Logger } from '../credentials/index.js';
import type { App } from '../app.js';
import type { Settings } from '../config/settings.js';
import { TokenCipher } from '../crypto/tokenCipher.js';
import { jsonResponse } from './responses.js';
import type { HttpResult } from './types.js';

/**
 * /api/health, the same logic under the Functions host and the local host (routes.ts registers it for both):
 * 200 `{"status":"ok"[,"warnings":[…]]}` or 503 `{"status":"error","problems":[…]}`. A problem names a setting, the
 * store or the keys, never a value: no token, key, connection string or driver message is ever in the answer (driver
 * messages go to the log). Checks, cheapest first, all of them on every call:
 * - settings valid and the store open;
 * - the store takes a write (the heartbeat row), its schema is what this code needs, and a sample of stored refresh
 *   tokens (newest and oldest) decrypts with TOKEN_ENCRYPTION_KEYS: one store round trip (HealthStore.checkHealth);
 * - the LWA client secret: warning under 30 days, problem once past LWA_CLIENT_SECRET_EXPIRES_AT;
 * - open app-wide incidents (read in the same round trip): a warning each, and `incidents` with when each was first
 *   seen. Still 200: an instance cannot fix Amazon refusing the app, and Azure must not take instances out for it.
 * - the timers' own settings (Settings.jobProblems): a warning and `jobs`, never a 503 (see jobsReport).
 */
export async function healthResult(app: App, log: Logger): Promise<HttpResult> {
  const state = await app.state();
  if (!state.ok) return jsonResponse(503, { status: 'error', problems: state.problems });
  const { store, settings, clock, cipher } = state.services;
  const now = clock.now();
  let probe: Awaited<ReturnType<typeof store.checkHealth>>;
  try {
    probe = await store.checkHealth({ now, sampleSize: HEALTH_SAMPLE_SIZE });
  } catch (error) {
    log.error('health: store did not answer', { error: describeError(error) });
    return jsonResponse(503, { status: 'error', problems: ['store did not answer.'] });
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  if (probe.writeRefused !== undefined) {
    log.error('health: store refused the heartbeat write', { error: probe.writeRefused });
    problems.push('store refused a write (the heartbeat row): authorizations cannot be recorded; see the log.');
  }
  if (probe.schemaBehind !== undefined) problems.push(`store schema is behind the code: ${probe.schemaBehind}.`);
  const unreadable = undecryptable(cipher, probe.samples);
  if (unreadable.count > 0) {
    const kids = unreadable.keyIds.length === 0 ? '' : ` (sealed with key id ${unreadable.keyIds.join(', ')})`;
    problems.push(
      `${unreadable.count} of ${probe.samples.length} sampled refresh tokens cannot be decrypted with TOKEN_ENCRYPTION_KEYS${kids}: add the key that sealed them back to TOKEN_ENCRYPTION_KEYS.`,
    );
  }

  const expiresAt = settings.lwa.clientSecretExpiresAt;
  if (expiresAt !== undefined) {
    const daysLeft = Math.ceil((expiresAt.getTime() - now.getTime()) / DAY_MS);
    const day = expiresAt.toISOString().slice(0, 10);
    if (daysLeft <= 0) {
      problems.push(`LWA client secret expired on ${day}: rotate it and update LWA_CLIENT_SECRET / LWA_CLIENT_SECRET_EXPIRES_AT.`);
    } else if (daysLeft < SECRET_WARNING_DAYS) {
      warnings.push(
        `LWA client secret expires in ${daysLeft} day${daysLeft === 1 ? '' : 's'} (${day}): rotate it, set the new one as LWA_CLIENT_SECRET and the old one as LWA_CLIENT_SECRET_PREVIOUS.`,
      );
    }
  }
  state.services.incidents.observe(probe.incidents);
  const open = probe.incidents.filter(isOpen);
  for (const incident of open) warnings.push(incidentWarning(incident));
  const jobs = jobsReport(settings.jobProblems);
  if (jobs !== undefined) warnings.push(...jobs.warnings);
  const extra = {
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(open.length > 0 ? { incidents: open.map(incidentJson) } : {}),
    ...(jobs !== undefined ? { jobs: jobs.status } : {}),
  };
  if (problems.length > 0) return jsonResponse(503, { status: 'error', problems, ...extra });
  return jsonResponse(200, { status: 'ok', ...extra });
}

const INCIDENT_WARNINGS: Record<IncidentRecord['kind'], string> = {
  lwa_client_rejected: "Login with Amazon refuses Shipica's client credentials for every seller: set LWA_CLIENT_SECRET to the current secret",
  spapi_denied_for_all: "SP-API denied every seller the credential sweep checked (403): check the app's roles in Solution Provider Portal",
};

function incidentWarning(incident: IncidentRecord): string {
  return `incident ${incident.kind} since ${incident.openedAt.toISOString()}: ${INCIDENT_WARNINGS[incident.kind]}.`;
}

function incidentJson(incident: IncidentRecord): Record<string, string | number | null> {
  return {
    kind: incident.kind,
    first_seen_at: incident.openedAt.toISOString(),
    last_seen_at: incident.lastSeenAt.toISOString(),
    seen_count: incident.seenCount,
    amazon_said: incident.detail,
  };
}

/**
 * A bad setting that only one timer reads stops that timer alone, so it is a warning, not a 503: Azure's health check
 * takes instances out on a 503, and taking every instance out would stop the seller flow and the access tokens over a
 * job they do not need. `jobs` then gives each timer's status. Undefined when every job can run.
 */
function jobsReport(jobProblems: Settings['jobProblems']): { warnings: string[]; status: Record<string, { status: 'ok' } | { status: 'error'; problems: readonly string[] }> } | undefined {
  const entries = Object.entries(jobProblems);
  if (entries.every(([, list]) => list.length === 0)) return undefined;
  return {
    warnings: entries.filter(([, list]) => list.length > 0).map(([job, list]) => `${job} does not run: ${list.join(' ')}`),
    status: Object.fromEntries(entries.map(([job, list]) => [job, list.length === 0 ? { status: 'ok' as const } : { status: 'error' as const, problems: list }])),
  };
}

/** Envelopes sampled from each end (newest, oldest): a wrong current key shows in the first, a dropped old key in the second. */
export const HEALTH_SAMPLE_SIZE = 5;
/** Amazon requires a new LWA client secret every 180 days: warn 30 days ahead, fail once it has expired. */
const SECRET_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

/** How many samples fail to decrypt, and the key ids they name (labels, not secrets). The plaintext is dropped at once. */
function undecryptable(cipher: TokenCipher, samples: readonly EnvelopeSample[]): { count: number; keyIds: string[] } {
  let count = 0;
  const keyIds = new Set<string>();
  for (const sample of samples) {
    try {
      cipher.decrypt(sample.envelope, { column: 'lwa_refresh_token', region: sample.region, customerId: sample.customerId });
    } catch {
      count += 1;
      const kid = TokenCipher.keyIdOf(sample.envelope);
      // A key id is a short label chosen by ops; anything else (a corrupt value) is not echoed.
      if (kid !== undefined && /^[A-Za-z0-9_.-]{1,32}$/.test(kid)) keyIds.add(kid);
    }
  }
  return { count, keyIds: [...keyIds].sort() };
}
