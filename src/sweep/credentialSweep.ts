import {
  defaultMarketplace,
  describeError,
  type CheckOutcome,
  type CheckResult,
  type Clock,
  type CredentialStatusRow,
  type EventData,
  type EventType,
  type Logger,
  type NewEvent,
  type Region,
  type SweepStore,
} from '../credentials/index.js';
import type { AccessTokenService } from '../accessTokens/accessTokenService.js';
import { marketplaceIdentity } from '../spapi/marketplaceIds.js';
import type { SellersClient } from '../spapi/sellersClient.js';

/**
 * The daily credential sweep (timer CredentialSweep; `npm run ops -- sweep`), plain TypeScript:
 * 1. re-authorization reminders: an `authorization.expiring` event when reauthorize_by is within 30 days and again
 *    within 7 (one per threshold and grant), `authorization.expired` once past it;
 * 2. each authorized row, at most once per run across every sweep running at once (a lease in the store): a fresh
 *    access token through the access-token service (so LWA's invalid_grant marks the row revoked with its event,
 *    exactly as a caller's request would, and the token lands in the cache), then SP-API marketplaceParticipations on
 *    the row's regional endpoint, at most one call per seller per run (a 429 waits for the next run). A 403 flags
 *    `spapi_access_denied` (never revoked); participations without the row's marketplace flag `region_mismatch`;
 * 3. retention: ended attempts (as `ops purge` decides) and delivered events older than ATTEMPT_RETENTION_DAYS.
 * Safe to interrupt: a lease left behind frees itself after LEASE_MS, and every write is one transaction.
 */
export interface SweepDeps {
  store: SweepStore;
  accessTokens: AccessTokenService;
  sellers: SellersClient;
  clock: Clock;
  logger: Logger;
  retentionDays: number;
}

export interface SweepOptions {
  customerId?: string | undefined;
  /** Count what would be checked, reminded and purged; call nothing, write nothing. */
  dryRun?: boolean | undefined;
  /** After each row (checked, skipped or not), for a progress bar. */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export type SellerOutcome = CheckOutcome | 'skipped' | 'would_check';

export interface SellerReport {
  customerId: string;
  region: Region;
  sellingPartnerId: string | null;
  outcome: SellerOutcome;
  /** Country codes SP-API said the seller participates in (when it answered). */
  countryCodes: string[];
  storeName: string | null;
}

export interface SweepSummary {
  dryRun: boolean;
  rows: number;
  counts: Record<SellerOutcome, number>;
  reminders: number;
  purgedAttempts: number;
  purgedEvents: number;
  /** Set when LWA refused the app's own credentials: no seller could be checked, the run stopped. */
  stopped: 'lwa_client_rejected' | undefined;
  sellers: SellerReport[];
}

/** How long a claimed row is left to the sweep that claimed it. */
export const LEASE_MS = 10 * 60_000;
/** Rows checked at once: LWA and SP-API calls of different sellers overlap, each seller's stay one. */
const CONCURRENCY = 4;
const PURGE_BATCH = 1000;
const DAY_MS = 86_400_000;
const THRESHOLDS = [30, 7] as const;

export class CredentialSweep {
  constructor(private readonly deps: SweepDeps) {}

  async run(options: SweepOptions = {}): Promise<SweepSummary> {
    const { store, clock } = this.deps;
    const dryRun = options.dryRun === true;
    const startedAt = clock.now();
    const listed = (await store.listCredentialStatus({ customerId: options.customerId }, startedAt)).filter(
      (r) => r.status === 'authorized' || r.status === 'expired',
    );
    // Longest unchecked first (never checked before all): a run cut short (a function timeout) starts the next one
    // where it stopped, instead of checking the same rows at the top of the list every day.
    const lastChecked = new Map(
      (await store.listCredentialChecks({ customerId: options.customerId })).map((c) => [`${c.customerId}/${c.region}`, c.checkedAt?.getTime() ?? -1]),
    );
    const since = (r: CredentialStatusRow): number => lastChecked.get(`${r.customerId}/${r.region}`) ?? -1;
    const rows = [...listed].sort((a, b) => since(a) - since(b));
    const summary: SweepSummary = {
      dryRun,
      rows: rows.length,
      counts: { verified: 0, region_mismatch: 0, access_denied: 0, revoked: 0, rate_limited: 0, error: 0, skipped: 0, would_check: 0 },
      reminders: 0,
      purgedAttempts: 0,
      purgedEvents: 0,
      stopped: undefined,
      sellers: [],
    };

    summary.reminders = await this.remind(rows, startedAt, dryRun);

    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const row = rows[next];
        next += 1;
        if (row === undefined) return;
        const report = summary.stopped !== undefined ? undefined : await this.checkRow(row, startedAt, dryRun, summary);
        if (report !== undefined) {
          summary.counts[report.outcome] += 1;
          summary.sellers.push(report);
        }
        done += 1;
        options.onProgress?.(done, rows.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(rows.length, 1)) }, worker));
    summary.sellers.sort((a, b) => (a.customerId === b.customerId ? a.region.localeCompare(b.region) : a.customerId < b.customerId ? -1 : 1));

    // SP-API refused every seller it answered for: the app's roles, not the sellers (one line, not one per seller).
    const answered = summary.counts.verified + summary.counts.region_mismatch + summary.counts.access_denied;
    if (answered > 0 && summary.counts.access_denied === answered) {
      this.deps.logger.error(
        "SP-API refused marketplaceParticipations (403) for every seller checked: check the app's roles in Solution Provider Portal (the Sellers API needs the role Amazon's tutorial names); the sellers' authorizations are not revoked",
        { sellers: answered },
      );
    }

    const retained = await this.purge(clock.now(), dryRun);
    summary.purgedAttempts = retained.attempts;
    summary.purgedEvents = retained.events;
    this.deps.logger.info('credential sweep finished', {
      dryRun,
      rows: summary.rows,
      ...summary.counts,
      reminders: summary.reminders,
      purgedAttempts: summary.purgedAttempts,
      purgedEvents: summary.purgedEvents,
      stopped: summary.stopped ?? null,
    });
    return summary;
  }

  /** One event per row and threshold crossed (the tightest one), written only once per grant by the store. */
  private async remind(rows: readonly CredentialStatusRow[], now: Date, dryRun: boolean): Promise<number> {
    let sent = 0;
    const checks = dryRun ? new Map((await this.deps.store.listCredentialChecks()).map((c) => [`${c.customerId}/${c.region}`, c])) : undefined;
    for (const row of rows) {
      if (row.reauthorizeBy === null || row.authGrantedDate === null) continue;
      const msLeft = row.reauthorizeBy.getTime() - now.getTime();
      const threshold = msLeft < 0 ? 0 : THRESHOLDS.filter((days) => msLeft <= days * DAY_MS).at(-1);
      if (threshold === undefined) continue;
      if (checks !== undefined) {
        const mark = checks.get(`${row.customerId}/${row.region}`);
        const done = mark?.remindedForGrant?.getTime() === row.authGrantedDate.getTime() && (mark.remindedThreshold ?? 99) <= threshold;
        if (!done) sent += 1;
        continue;
      }
      const data: EventData =
        threshold === 0
          ? { reauthorize_by: row.reauthorizeBy.toISOString() }
          : { reauthorize_by: row.reauthorizeBy.toISOString(), days_left: Math.floor(msLeft / DAY_MS), threshold_days: threshold };
      const type: EventType = threshold === 0 ? 'authorization.expired' : 'authorization.expiring';
      const written = await this.deps.store.recordDeadlineReminder({
        customerId: row.customerId,
        region: row.region,
        grantedAt: row.authGrantedDate,
        threshold,
        event: this.event(type, row, now, data),
      });
      if (written) sent += 1;
    }
    return sent;
  }

  private async checkRow(row: CredentialStatusRow, runStartedAt: Date, dryRun: boolean, summary: SweepSummary): Promise<SellerReport> {
    const report = (outcome: SellerOutcome, countryCodes: string[] = [], storeName: string | null = null): SellerReport => ({
      customerId: row.customerId,
      region: row.region,
      sellingPartnerId: row.sellingPartnerId,
      outcome,
      countryCodes,
      storeName,
    });
    if (dryRun) return report('would_check');
    const now = this.deps.clock.now();
    const claimed = await this.deps.store.claimCredentialCheck({
      customerId: row.customerId,
      region: row.region,
      now,
      leaseUntil: new Date(now.getTime() + LEASE_MS),
      runStartedAt,
    });
    if (!claimed) return report('skipped');
    try {
      const result = await this.check(row, summary);
      await this.deps.store.recordCredentialCheck(result);
      // Only what needs a look is logged per seller; the check row and the summary line hold the rest.
      if (result.outcome !== 'verified') {
        this.deps.logger.warn('credential check found a problem', { customerId: row.customerId, region: row.region, outcome: result.outcome, error: result.error });
      }
      return report(result.outcome, result.participation?.countryCodes ?? [], result.participation?.storeName ?? null);
    } catch (error) {
      // The store failed: the lease frees itself after LEASE_MS; the next run checks the row.
      this.deps.logger.warn('credential check failed', { customerId: row.customerId, region: row.region, error: describeError(error) });
      return report('error');
    }
  }

  private async check(row: CredentialStatusRow, summary: SweepSummary): Promise<CheckResult> {
    const base = { customerId: row.customerId, region: row.region, participation: undefined, flagEvent: undefined };
    const token = await this.deps.accessTokens.get({ customerId: row.customerId, region: row.region, proveRefreshToken: true });
    if (!token.ok) {
      if (token.error === 'lwa_client_rejected') summary.stopped = 'lwa_client_rejected';
      const outcome: CheckOutcome = token.error === 'authorization_revoked' ? 'revoked' : 'error';
      return { ...base, now: this.deps.clock.now(), outcome, error: outcome === 'revoked' ? null : token.error };
    }
    const answer = await this.deps.sellers.marketplaceParticipations(row.region, token.token.accessToken);
    const now = this.deps.clock.now();
    switch (answer.kind) {
      case 'access_denied':
        return { ...base, now, outcome: 'access_denied', error: 'HTTP 403', flagEvent: this.event('authorization.access_denied', row, now, { http_status: 403 }) };
      case 'rate_limited':
        this.deps.logger.warn('SP-API throttled marketplaceParticipations: checked again next run', {
          customerId: row.customerId,
          region: row.region,
          rateLimit: answer.rateLimit ?? null,
        });
        return { ...base, now, outcome: 'rate_limited', error: `HTTP 429${answer.rateLimit === undefined ? '' : ` (rate limit ${answer.rateLimit}/s)`}` };
      case 'unavailable':
        return { ...base, now, outcome: 'error', error: answer.detail };
      case 'ok': {
        const participating = answer.participations.filter((p) => p.isParticipating);
        const marketplace = row.marketplace ?? defaultMarketplace(row.region).code;
        const expected = marketplaceIdentity(marketplace);
        const matches = expected !== undefined && participating.some((p) => p.marketplaceId === expected.marketplaceId);
        const participation = {
          marketplaceIds: participating.map((p) => p.marketplaceId),
          countryCodes: participating.map((p) => p.countryCode),
          storeName: participating.find((p) => p.storeName !== null)?.storeName ?? null,
        };
        if (matches) return { ...base, now, outcome: 'verified', error: null, participation };
        return {
          ...base,
          now,
          outcome: 'region_mismatch',
          error: null,
          participation,
          flagEvent: this.event('authorization.region_mismatch', row, now, { marketplace, participating: participation.countryCodes }),
        };
      }
    }
  }

  private event(type: EventType, row: CredentialStatusRow, now: Date, data: EventData): NewEvent {
    return { type, customerId: row.customerId, region: row.region, sellingPartnerId: row.sellingPartnerId, occurredAt: now, data };
  }

  private async purge(now: Date, dryRun: boolean): Promise<{ attempts: number; events: number }> {
    const olderThan = new Date(now.getTime() - this.deps.retentionDays * DAY_MS);
    if (dryRun) {
      return {
        attempts: await this.deps.store.purgeAttempts({ olderThan, now, limit: 100_000, dryRun: true }),
        events: await this.deps.store.purgeEvents({ olderThan, limit: 10_000, dryRun: true }),
      };
    }
    let attempts = 0;
    for (;;) {
      const deleted = await this.deps.store.purgeAttempts({ olderThan, now, limit: PURGE_BATCH, dryRun: false });
      attempts += deleted;
      if (deleted < PURGE_BATCH) break;
    }
    let events = 0;
    for (;;) {
      const deleted = await this.deps.store.purgeEvents({ olderThan, limit: PURGE_BATCH, dryRun: false });
      events += deleted;
      if (deleted < PURGE_BATCH) break;
    }
    return { attempts, events };
  }
}
