import {
  appWideDenial,
  defaultMarketplace,
  describeError,
  isRevocationRecheckDue,
  type CheckOutcome,
  type CheckResult,
  type Clock,
  type CredentialStatusRow,
  type EventData,
  type CredentialScope,
  type EventType,
  type IncidentSignal,
  type Logger,
  type NewEvent,
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
 *    `spapi_access_denied` (never revoked), unless SP-API denied every seller the run checked: that is one app-wide
 *    incident (spapi_denied_for_all), and no seller is flagged for it. Participations without the row's marketplace
 *    flag `region_mismatch`; a verified row clears its flag (authorization.flag_cleared);
 * 2b. each revoked row that still holds its sealed refresh token, for REVOKED_RECHECK_DAYS after LWA refused it: the
 *    token proven again (LWA has refused valid tokens during its own incidents); accepted, the row is authorized
 *    again (authorization.restored) and checked as in 2;
 * 3. retention: ended attempts (as `ops purge` decides) and delivered events older than ATTEMPT_RETENTION_DAYS.
 * Safe to interrupt: a lease left behind frees itself after LEASE_MS, and every write is one transaction.
 */
export interface SweepDeps {
  store: SweepStore;
  accessTokens: AccessTokenService;
  sellers: SellersClient;
  clock: Clock;
  logger: Logger;
  incidents: IncidentSignal;
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
  scope: CredentialScope;
  sellingPartnerId: string | null;
  outcome: SellerOutcome;
  /** Country codes SP-API said the seller participates in (when it answered). */
  countryCodes: string[];
  storeName: string | null;
  /** A revoked row whose refresh token LWA accepted again in this run (authorized again). */
  restored: boolean;
}

export interface SweepSummary {
  dryRun: boolean;
  rows: number;
  counts: Record<SellerOutcome, number>;
  reminders: number;
  /** Revoked rows authorized again in this run: LWA accepted their refresh token when proven again. */
  restored: number;
  /** SP-API denied every seller this run checked: one app-wide incident, no seller flagged. */
  appWideDenial: boolean;
  purgedAttempts: number;
  purgedEvents: number;
  /** Set when LWA refused the app's own credentials: no seller could be checked, the run stopped. */
  stopped: 'lwa_client_rejected' | undefined;
  sellers: SellerReport[];
}

/** A check SP-API answered 403, held until the run knows whether the denial was app-wide. */
interface DeniedCheck {
  row: CredentialStatusRow;
  result: CheckResult;
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
    // Which app-wide incidents are open (another instance may have opened one): a run that proves it over ends it.
    if (!dryRun) await this.deps.incidents.recall();
    const listed = (await store.listCredentialStatus({ customerId: options.customerId }, startedAt)).filter(
      (r) => r.status === 'authorized' || r.status === 'expired' || isRevocationRecheckDue(r, startedAt),
    );
    // Longest unchecked first (never checked before all): a run cut short (a function timeout) starts the next one
    // where it stopped, instead of checking the same rows at the top of the list every day.
    const lastChecked = new Map(
      (await store.listCredentialChecks({ customerId: options.customerId })).map((c) => [`${c.customerId}/${c.scope}`, c.checkedAt?.getTime() ?? -1]),
    );
    const since = (r: CredentialStatusRow): number => lastChecked.get(`${r.customerId}/${r.scope}`) ?? -1;
    const rows = [...listed].sort((a, b) => since(a) - since(b));
    const summary: SweepSummary = {
      dryRun,
      rows: rows.length,
      counts: { verified: 0, region_mismatch: 0, access_denied: 0, revoked: 0, rate_limited: 0, error: 0, skipped: 0, would_check: 0 },
      reminders: 0,
      restored: 0,
      appWideDenial: false,
      purgedAttempts: 0,
      purgedEvents: 0,
      stopped: undefined,
      sellers: [],
    };
    const denied: DeniedCheck[] = [];

    summary.reminders = await this.remind(rows.filter((r) => r.status !== 'revoked'), startedAt, dryRun);

    let next = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const row = rows[next];
        next += 1;
        if (row === undefined) return;
        const report = summary.stopped !== undefined ? undefined : await this.checkRow(row, startedAt, dryRun, summary, denied);
        if (report !== undefined) {
          summary.counts[report.outcome] += 1;
          if (report.restored) summary.restored += 1;
          summary.sellers.push(report);
        }
        done += 1;
        options.onProgress?.(done, rows.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, Math.max(rows.length, 1)) }, worker));
    summary.sellers.sort((a, b) => (a.customerId === b.customerId ? a.scope.localeCompare(b.scope) : a.customerId < b.customerId ? -1 : 1));
    // A run limited to one customer sees too few sellers to tell Amazon denying the app from denying that customer.
    if (!dryRun) summary.appWideDenial = await this.judgeDenials(summary, denied, options.customerId === undefined);

    const retained = await this.purge(clock.now(), dryRun);
    summary.purgedAttempts = retained.attempts;
    summary.purgedEvents = retained.events;
    this.deps.logger.info('credential sweep finished', {
      dryRun,
      rows: summary.rows,
      ...summary.counts,
      reminders: summary.reminders,
      restored: summary.restored,
      appWideDenial: summary.appWideDenial,
      purgedAttempts: summary.purgedAttempts,
      purgedEvents: summary.purgedEvents,
      stopped: summary.stopped ?? null,
    });
    return summary;
  }

  /** One event per row and threshold crossed (the tightest one), written only once per grant by the store. */
  private async remind(rows: readonly CredentialStatusRow[], now: Date, dryRun: boolean): Promise<number> {
    let sent = 0;
    const checks = dryRun ? new Map((await this.deps.store.listCredentialChecks()).map((c) => [`${c.customerId}/${c.scope}`, c])) : undefined;
    for (const row of rows) {
      if (row.reauthorizeBy === null || row.authGrantedDate === null) continue;
      const msLeft = row.reauthorizeBy.getTime() - now.getTime();
      const threshold = msLeft < 0 ? 0 : THRESHOLDS.filter((days) => msLeft <= days * DAY_MS).at(-1);
      if (threshold === undefined) continue;
      if (checks !== undefined) {
        const mark = checks.get(`${row.customerId}/${row.scope}`);
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
        scope: row.scope,
        grantedAt: row.authGrantedDate,
        threshold,
        event: this.event(type, row, now, data),
      });
      if (written) sent += 1;
    }
    return sent;
  }

  private async checkRow(
    row: CredentialStatusRow,
    runStartedAt: Date,
    dryRun: boolean,
    summary: SweepSummary,
    denied: DeniedCheck[],
  ): Promise<SellerReport> {
    let restored = false;
    const report = (outcome: SellerOutcome, countryCodes: string[] = [], storeName: string | null = null): SellerReport => ({
      customerId: row.customerId,
      scope: row.scope,
      sellingPartnerId: row.sellingPartnerId,
      outcome,
      countryCodes,
      storeName,
      restored,
    });
    if (dryRun) return report('would_check');
    const now = this.deps.clock.now();
    const claimed = await this.deps.store.claimCredentialCheck({
      customerId: row.customerId,
      scope: row.scope,
      now,
      leaseUntil: new Date(now.getTime() + LEASE_MS),
      runStartedAt,
    });
    if (!claimed) return report('skipped');
    try {
      if (row.status === 'revoked') {
        const proven = await this.deps.accessTokens.recheckRevoked(row.customerId, row.scope);
        if (proven === 'lwa_client_rejected') summary.stopped = 'lwa_client_rejected';
        if (proven !== 'restored') {
          const outcome: CheckOutcome = proven === 'still_revoked' || proven === 'no_refresh_token' ? 'revoked' : 'error';
          const error = outcome === 'revoked' ? null : proven === 'not_revoked' ? 'the row changed while it was checked' : proven;
          await this.deps.store.recordCredentialCheck(this.result(row, { outcome, error }));
          return report(outcome);
        }
        restored = true;
      }
      const result = await this.check(row, summary);
      if (result.outcome === 'access_denied') denied.push({ row, result });
      await this.deps.store.recordCredentialCheck(result);
      // Only what needs a look is logged per seller (a 403 once the run knows it is the seller's own); the check row
      // and the summary line hold the rest.
      if (result.outcome !== 'verified' && result.outcome !== 'access_denied') {
        this.deps.logger.warn('credential check found a problem', { customerId: row.customerId, scope: row.scope, outcome: result.outcome, error: result.error });
      }
      return report(result.outcome, result.participation?.countryCodes ?? [], result.participation?.storeName ?? null);
    } catch (error) {
      // The store failed: the lease frees itself after LEASE_MS; the next run checks the row.
      this.deps.logger.warn('credential check failed', { customerId: row.customerId, scope: row.scope, error: describeError(error) });
      return report('error');
    }
  }

  private async check(row: CredentialStatusRow, summary: SweepSummary): Promise<CheckResult> {
    const token = await this.deps.accessTokens.get({ customerId: row.customerId, scope: row.scope, proveRefreshToken: true });
    if (!token.ok) {
      if (token.error === 'lwa_client_rejected') summary.stopped = 'lwa_client_rejected';
      const outcome: CheckOutcome = token.error === 'authorization_revoked' ? 'revoked' : 'error';
      return this.result(row, { outcome, error: outcome === 'revoked' ? null : token.error });
    }
    const answer = await this.deps.sellers.marketplaceParticipations(row.region, token.token.accessToken);
    switch (answer.kind) {
      case 'access_denied':
        // Recorded without its flag: whether this 403 is the seller's own is known only when the run ends (judgeDenials).
        return this.result(row, { outcome: 'access_denied', error: answer.detail, keepFlag: true });
      case 'rate_limited':
        this.deps.logger.warn('SP-API throttled marketplaceParticipations: checked again next run', {
          customerId: row.customerId,
          scope: row.scope,
          rateLimit: answer.rateLimit ?? null,
        });
        return this.result(row, { outcome: 'rate_limited', error: `HTTP 429${answer.rateLimit === undefined ? '' : ` (rate limit ${answer.rateLimit}/s)`}` });
      case 'unavailable':
        return this.result(row, { outcome: 'error', error: answer.detail });
      case 'ok': {
        const participating = answer.participations.filter((p) => p.isParticipating);
        const marketplace = row.marketplace ?? defaultMarketplace(row.scope).code;
        const expected = marketplaceIdentity(marketplace);
        const matches = expected !== undefined && participating.some((p) => p.marketplaceId === expected.marketplaceId);
        const participation = {
          marketplaceIds: participating.map((p) => p.marketplaceId),
          countryCodes: participating.map((p) => p.countryCode),
          storeName: participating.find((p) => p.storeName !== null)?.storeName ?? null,
        };
        if (matches) return this.result(row, { outcome: 'verified', error: null, participation });
        const now = this.deps.clock.now();
        return this.result(row, {
          outcome: 'region_mismatch',
          error: null,
          participation,
          flagEvent: this.event('authorization.region_mismatch', row, now, { marketplace, participating: participation.countryCodes }),
        });
      }
    }
  }

  /**
   * After the checks: SP-API 403s for every seller it answered for (and enough of them, in a run over every customer) are one app-wide incident,
   * reported once with what Amazon said, and no seller is flagged; otherwise each 403 is that seller's own (its flag
   * and authorization.access_denied, Amazon's message in check_error), and a run in which SP-API answered a seller
   * ends an open incident of the kind. True when the run's denials were app-wide.
   */
  private async judgeDenials(summary: SweepSummary, denied: readonly DeniedCheck[], wholeFleet: boolean): Promise<boolean> {
    const answered = summary.counts.verified + summary.counts.region_mismatch + summary.counts.access_denied;
    if (answered === 0) return false;
    if (wholeFleet && appWideDenial({ answered, denied: denied.length })) {
      await this.deps.incidents.report('spapi_denied_for_all', `${denied[0]?.result.error ?? 'HTTP 403'} (${denied.length} of ${denied.length} sellers checked)`);
      return true;
    }
    for (const { row, result } of denied) {
      const now = this.deps.clock.now();
      this.deps.logger.warn('credential check found a problem', { customerId: row.customerId, scope: row.scope, outcome: result.outcome, error: result.error });
      try {
        await this.deps.store.recordCredentialCheck({
          ...result,
          now,
          keepFlag: false,
          flagEvent: this.event('authorization.access_denied', row, now, { http_status: 403, amazon_said: result.error }),
        });
      } catch (error) {
        this.deps.logger.warn('credential check failed', { customerId: row.customerId, scope: row.scope, error: describeError(error) });
      }
    }
    if (wholeFleet && denied.length < answered) await this.deps.incidents.resolved('spapi_denied_for_all');
    return false;
  }

  private result(
    row: CredentialStatusRow,
    outcome: Pick<CheckResult, 'outcome' | 'error'> & Partial<Pick<CheckResult, 'participation' | 'flagEvent' | 'keepFlag'>>,
  ): CheckResult {
    return { customerId: row.customerId, scope: row.scope, now: this.deps.clock.now(), participation: undefined, flagEvent: undefined, ...outcome };
  }

  private event(type: EventType, row: CredentialStatusRow, now: Date, data: EventData): NewEvent {
    return { type, customerId: row.customerId, scope: row.scope, sellingPartnerId: row.sellingPartnerId, occurredAt: now, data };
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
