import {
  byDaysLeft,
  DELIVERY_ERROR_LIMIT,
  eventDataJson,
  failureData,
  flagAfter,
  formatLastError,
  grantedData,
  healthSampleSize,
  incidentData,
  isExpiringWithin,
  isScope,
  regionOfScope,
  RESTORED_DATA,
  SECRET_COLUMNS,
  statusRowAt,
  UNLINKED_DATA,
} from '../credentials/index.js';
import type * as port from '../credentials/index.js';
import { checkParams, type Engine } from './engine.js';
import * as op from './operations/index.js';
import type { Operation } from './operations/operation.js';
import { text, toAccessTokenSource, toAttempt, toCheck, toCredential, toEvent, toIncident, toRegion, toScope, toStatusFacts, toSummary, type Row } from './sql/rows.js';
import * as q from './sql/statements.js';
import { clip, COLUMNS as C, type ParamTypes, type ParamValues } from './sql/types.js';

/**
 * The ports of credentials/ over one engine, written once for SQL Server and SQLite: each method is one statement
 * (sql/statements.ts) or one operation (operations/, a stored procedure on SQL Server), so one round trip. Parameters
 * carry the ports' own names; values are checked against their columns here, before any engine sees them.
 */
export class SqlStore implements port.CredentialStore {
  constructor(readonly engine: Engine) {}

  async startAuthorization(attempt: port.NewAttempt): Promise<'started' | 'too_many_open'> {
    return this.#op(op.startAuthorization, attempt);
  }

  async startLoginUriAttempt(input: port.LoginUriStart): Promise<port.LoginUriStartResult> {
    const codes = [...input.marketplaces, ...Object.values(input.defaultMarketplaces)];
    if (codes.some((code) => !/^[A-Z]{2}$/.test(code))) throw new Error('marketplace codes must be two capital letters');
    const { NA: defaultNA, EU: defaultEU } = input.defaultMarketplaces;
    return this.#op(op.startLoginUriAttempt, { ...input, scope: input.scope ?? null, marketplaces: `,${input.marketplaces.join(',')},`, defaultNA, defaultEU });
  }

  async findAttemptByStateHash(stateHash: string): Promise<port.AttemptRecord | undefined> {
    const [row] = await this.#rows(q.findAttemptByStateHash, { stateHash }, ['stateHash']);
    return row === undefined ? undefined : toAttempt(row);
  }

  async consumeAttempt(input: port.AttemptConsumption): Promise<boolean> {
    return (await this.#changes(q.consumeAttempt, input, ['stateHash'])) === 1;
  }

  async acceptCallback(input: port.CallbackAcceptance): Promise<port.CallbackAcceptanceResult> {
    return this.#op(op.acceptCallback, { ...input, encryptedMwsAuthToken: input.encryptedMwsAuthToken ?? null, claimUntil: input.exchangeDeadline });
  }

  async recordCallback(input: port.CallbackRecord): Promise<'recorded' | 'partner_conflict'> {
    return this.#op(op.recordCallback, { ...input, encryptedMwsAuthToken: input.encryptedMwsAuthToken ?? null, claimUntil: null });
  }

  async completeAuthorization(input: port.CompletedAuthorization): Promise<'stored' | 'partner_conflict' | 'partner_changed'> {
    const seed = input.sharedAccessToken;
    return this.#op(op.completeAuthorization, {
      ...input,
      attemptId: attemptId(input.attemptId),
      eventData: eventDataJson(grantedData(input.marketplace, input.now)),
      accessToken: seed?.accessToken ?? null,
      generation: seed?.generation ?? null,
      accessTokenExpiresAt: seed?.expiresAt ?? null,
    });
  }

  async failAuthorization(input: port.FailedAuthorization): Promise<void> {
    const { failure } = input;
    return this.#op(op.failAuthorization, { ...input, attemptId: attemptId(input.attemptId), ...failureParams(failure), lastError: formatLastError(failure), eventData: eventDataJson(failureData(failure)) });
  }

  async recordRefusedCallback(input: port.RefusedCallback): Promise<boolean> {
    const { related } = input;
    return this.#op(op.recordRefusedCallback, {
      ...related,
      relatedAttemptId: attemptId(related.attemptId),
      sellingPartnerId: input.sellingPartnerId ?? null,
      now: input.now,
      reason: clip(input.reason, C.reason),
    });
  }

  async unlinkCredential(input: port.Unlink): Promise<port.UnlinkResult> {
    return this.#op(op.unlinkCredential, { ...input, eventData: eventDataJson(UNLINKED_DATA) });
  }

  async purgeAttempts(input: port.AttemptPurge): Promise<number> {
    const params = { ...input, limit: bounded(input.limit, 1, 100_000, 'purge limit') };
    return input.dryRun ? count(await this.#rows(q.countPurgeableAttempts, params)) : this.#changes(q.purgeAttempts, params);
  }

  isTransientError(error: unknown): boolean {
    return this.engine.isTransientError(error);
  }

  async markRevoked(input: port.Revocation): Promise<boolean> {
    const { failure } = input;
    return this.#op(op.markRevoked, { ...input, ...failureParams(failure), lastError: formatLastError(failure), eventData: eventDataJson(failureData(failure)) });
  }

  async restoreRevoked(input: port.Restoration): Promise<boolean> {
    return this.#op(op.restoreRevoked, { ...input, eventData: eventDataJson(RESTORED_DATA) });
  }

  async listSecretEnvelopes(): Promise<port.SecretEnvelopes[]> {
    return (await this.#rows(q.listSecretEnvelopes, {})).map((row) => ({
      customerId: String(row['customer_id']),
      scope: toScope(row['scope']),
      region: toRegion(row['region']),
      lwaRefreshToken: text(row['lwa_refresh_token']),
      refreshTokenFingerprint: text(row['refresh_token_fingerprint']),
      spapiOauthCode: text(row['spapi_oauth_code']),
      mwsAuthToken: text(row['mws_auth_token']),
    }));
  }

  /** Leaves updated_at alone: re-encrypting an envelope does not change the authorization. */
  async replaceEnvelope(input: port.EnvelopeReplacement): Promise<boolean> {
    const column = SECRET_COLUMNS.find((c) => c === input.column);
    if (column === undefined) throw new Error('replaceEnvelope: column must be lwa_refresh_token, spapi_oauth_code or mws_auth_token');
    const replaced = (await this.#changes(q.REPLACE_ENVELOPE[column], input, ['customerId', 'expected'])) === 1;
    if (replaced) await this.engine.forgetReplacedValues();
    return replaced;
  }

  async replaceFingerprint(input: port.FingerprintReplacement): Promise<'replaced' | 'changed' | 'duplicate'> {
    return this.#op(op.replaceFingerprint, input);
  }

  async listCredentials(): Promise<port.CredentialSummary[]> {
    return (await this.#rows(q.listCredentials, {})).map(toSummary);
  }

  async listCredentialsFor(filter: { customerId: string } | { sellingPartnerId: string }): Promise<port.CredentialSummary[]> {
    const customerId: unknown = 'customerId' in filter ? filter.customerId : undefined;
    const sellingPartnerId: unknown = 'sellingPartnerId' in filter ? filter.sellingPartnerId : undefined;
    if (typeof customerId === 'string' && sellingPartnerId === undefined) {
      return (await this.#rows(q.listCredentialsOfCustomer, { customerId }, ['customerId'])).map(toSummary);
    }
    if (typeof sellingPartnerId === 'string' && customerId === undefined) {
      return (await this.#rows(q.listCredentialsOfSeller, { sellingPartnerId }, ['sellingPartnerId'])).map(toSummary);
    }
    throw new Error('listCredentialsFor: give either customerId or sellingPartnerId, as a string');
  }

  async findCredential(customerId: string, scope: port.CredentialScope): Promise<(port.CredentialSummary & port.CredentialSecrets) | undefined> {
    const [row] = await this.#rows(q.findCredential, { customerId, scope }, ['customerId', 'scope']);
    return row === undefined ? undefined : toCredential(row);
  }

  async listAttempts(filter: { customerId?: string } = {}): Promise<port.AttemptRecord[]> {
    return (await this.#rows(q.listAttempts, { customerId: filter.customerId ?? null }, ['customerId'])).map(toAttempt);
  }

  /** The stored facts, read by statusRowAt at `now` (credentials/deadlines.ts): nothing of the rule is in SQL. */
  async listCredentialStatus(filter: port.StatusFilter, now: Date): Promise<port.CredentialStatusRow[]> {
    if (filter.expiringWithinDays !== undefined) bounded(filter.expiringWithinDays, 0, 1_000_000, 'expiringWithinDays');
    const facts = await this.#rows(q.listStatusFacts, { customerId: filter.customerId ?? null }, ['customerId']);
    return facts
      .map((row) => statusRowAt(toStatusFacts(row), now))
      .filter((row) => isExpiringWithin(row, filter.expiringWithinDays))
      .sort(byDaysLeft);
  }

  async listRecentAttempts(filter: { customerId?: string | undefined; since: Date; limit?: number | undefined }): Promise<port.AttemptRecord[]> {
    const limit = filter.limit === undefined ? 200 : bounded(filter.limit, 1, 2_147_483_647, 'limit');
    return (await this.#rows(q.listRecentAttempts, { customerId: filter.customerId ?? null, since: filter.since, limit }, ['customerId'])).map(toAttempt);
  }

  async readAccessTokenSource(customerId: string, scope: port.CredentialScope): Promise<port.AccessTokenSource | undefined> {
    const [row] = await this.#rows(q.readAccessTokenSource, { customerId, scope }, ['customerId', 'scope']);
    return row === undefined ? undefined : toAccessTokenSource(row);
  }

  async claimAccessTokenLease(input: port.AccessTokenLeaseClaim): Promise<boolean> {
    return this.#op(op.claimAccessTokenLease, input);
  }

  async storeSharedAccessToken(input: port.SharedAccessTokenWrite): Promise<boolean> {
    return this.#op(op.storeSharedAccessToken, input);
  }

  async releaseAccessTokenLease(input: { customerId: string; scope: port.CredentialScope; owner: string }): Promise<void> {
    await this.#changes(q.releaseAccessTokenLease, input, ['customerId']);
  }

  async claimDueEvents(claim: port.EventClaim): Promise<port.EventRecord[]> {
    const rows = await this.#rows(q.claimDueEvents, { ...claim, limit: bounded(claim.limit, 1, 10_000, 'event batch limit') });
    return rows.map(toEvent).sort((a, b) => a.eventId - b.eventId);
  }

  async recordDelivery(result: port.DeliveryResult): Promise<void> {
    await this.#changes(q.recordDelivery, {
      eventId: result.eventId,
      state: result.outcome === 'retry' ? 'pending' : result.outcome,
      next: result.outcome === 'retry' ? result.nextAttemptAt : null,
      deliveredAt: result.outcome === 'delivered' ? result.now : null,
      error: result.outcome === 'delivered' ? null : result.error.slice(0, DELIVERY_ERROR_LIMIT),
    });
  }

  async purgeEvents(purge: port.EventPurge): Promise<number> {
    const params = { ...purge, limit: bounded(purge.limit, 1, 10_000, 'event batch limit') };
    return purge.dryRun ? count(await this.#rows(q.countPurgeableEvents, params)) : this.#changes(q.purgeEvents, params);
  }

  async listEvents(filter: port.EventFilter = {}): Promise<port.EventRecord[]> {
    const limit = bounded(filter.limit ?? 200, 1, 1000, 'event list limit');
    return (await this.#rows(q.listEvents, { customerId: filter.customerId ?? null, after: filter.afterEventId ?? 0, limit }, ['customerId'])).map(toEvent);
  }

  async importRefreshToken(input: port.ImportedRefreshToken): Promise<'stored' | 'partner_changed' | 'partner_conflict' | 'token_in_use'> {
    return this.#op(op.importRefreshToken, {
      ...input,
      fingerprints: commaFramed([input.refreshTokenFingerprint, ...input.fingerprints], C.list.length),
      eventData: eventDataJson({ ...grantedData(input.marketplace, input.now), flow: 'self_authorization' }),
    });
  }

  async claimCredentialCheck(claim: port.CheckClaim): Promise<boolean> {
    return this.#op(op.claimCredentialCheck, claim);
  }

  async recordCredentialCheck(result: port.CheckResult): Promise<void> {
    const flag = result.keepFlag === true ? undefined : flagAfter(result.outcome);
    const p = result.participation;
    return this.#op(op.recordCredentialCheck, {
      ...result,
      error: clip(result.error, C.check_error),
      seen: p === undefined ? 0 : 1,
      marketplaceIds: p === undefined ? null : listText(p.marketplaceIds, C.marketplace_ids.length),
      countryCodes: p === undefined ? null : listText(p.countryCodes, C.country_codes.length),
      storeName: clip(p?.storeName, C.store_name),
      setsFlag: flag === undefined ? 0 : 1,
      flag: flag ?? null,
      ...eventParams(flag === undefined || flag === null ? undefined : result.flagEvent),
    });
  }

  async recordDeadlineReminder(reminder: port.DeadlineReminder): Promise<boolean> {
    return this.#op(op.recordDeadlineReminder, { ...reminder, ...eventParams(reminder.event), now: reminder.event.occurredAt });
  }

  async listCredentialChecks(filter: { customerId?: string | undefined } = {}): Promise<port.CredentialCheckRecord[]> {
    return (await this.#rows(q.listCredentialChecks, { customerId: filter.customerId ?? null }, ['customerId'])).map(toCheck);
  }

  async recordIncident(report: port.IncidentReport): Promise<boolean> {
    const detail = clip(report.detail, C.incident_detail);
    return this.#op(op.recordIncident, { ...report, detail, eventData: eventDataJson(incidentData({ kind: report.kind, openedAt: report.now, detail })) });
  }

  async endIncident(end: { kind: port.IncidentKind; now: Date }): Promise<boolean> {
    return this.#op(op.endIncident, { ...end, eventData: eventDataJson({ incident: end.kind }) });
  }

  async listIncidents(): Promise<port.IncidentRecord[]> {
    return (await this.#rows(q.listIncidents, {})).map(toIncident);
  }

  async ping(): Promise<void> {
    await this.#rows(q.ping, {});
  }

  async checkHealth(probe: port.HealthProbe): Promise<port.StoreHealth> {
    return this.engine.health({ now: probe.now, sampleSize: healthSampleSize(probe.sampleSize) });
  }

  async close(): Promise<void> {
    return this.engine.close();
  }

  async #rows<P extends ParamTypes>(statement: q.Statement<P>, input: Input<P>, lookups: readonly (keyof P & string)[] = []): Promise<Row[]> {
    const params = withRegion<P>(input);
    return checkParams(statement.params, params, lookups) === 'absent' ? [] : this.engine.all(statement, params);
  }

  async #changes<P extends ParamTypes>(statement: q.Statement<P>, input: Input<P>, lookups: readonly (keyof P & string)[] = []): Promise<number> {
    const params = withRegion<P>(input);
    return checkParams(statement.params, params, lookups) === 'absent' ? 0 : this.engine.run(statement, params);
  }

  async #op<P extends ParamTypes, R>(operation: Operation<P, R>, input: Input<P>): Promise<R> {
    const params = withRegion<P>(input);
    if (checkParams(operation.params, params, operation.lookups) !== 'absent') return this.engine.operation(operation, params);
    if (operation.absent === undefined) throw new Error(`${operation.name}: a lookup value cannot be stored`);
    return operation.absent;
  }
}

/** A statement's or operation's values as the ports give them: `region` may be left out where `scope` is given. */
type Input<P extends ParamTypes> = Omit<ParamValues<P>, 'region'> & { region?: string | null };

/** The region a row's scope lies in, derived here once (no caller passes both and gets them apart). */
function withRegion<P extends ParamTypes>(input: Input<P>): ParamValues<P> {
  const { scope } = input as { scope?: unknown };
  if (input.region !== undefined || typeof scope !== 'string' || !isScope(scope)) return input as ParamValues<P>;
  return { ...input, region: regionOfScope(scope) } as ParamValues<P>;
}

/** Values as one comma-framed list parameter (`,a,b,`), refused when longer than it. */
function commaFramed(values: readonly string[], limit: number): string {
  if (values.some((v) => v.includes(','))) throw new Error('a listed value holds a comma');
  const framed = `,${values.join(',')},`;
  if (framed.length > limit) throw new Error(`the list is longer than ${limit} characters`);
  return framed;
}

/** An attempt's failure as the @reason, @lwaError, @lwaErrorDescription inputs, clipped to their columns. */
const failureParams = (failure: port.FailureDetails) => ({
  reason: clip(failure.reason, C.reason),
  lwaError: clip(failure.lwaError, C.lwa_error),
  lwaErrorDescription: clip(failure.lwaErrorDescription, C.lwa_error_description),
});

/** @eventType, @sellingPartnerId and @eventData of an event (all NULL when there is none). */
const eventParams = (event: port.NewEvent | undefined) => ({
  eventType: event?.type ?? null,
  sellingPartnerId: event?.sellingPartnerId ?? null,
  eventData: event === undefined ? null : eventDataJson(event.data),
});

function attemptId(value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new Error('attempt id must be a positive integer');
  return value;
}

/** A caller's count or limit: a whole number in range, else an error naming it (it ends up in a TOP / LIMIT). */
function bounded(value: number, min: number, max: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}

const count = (rows: readonly Row[]): number => Number(rows[0]?.['n'] ?? 0);

/** The comma-separated check columns, refused (never cut) when longer than their column. */
function listText(values: readonly string[], limit: number): string {
  const joined = values.join(',');
  if (joined.length > limit) throw new Error(`check list is longer than ${limit} characters`);
  return joined;
}
