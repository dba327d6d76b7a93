import { attemptOutcomeAt, type AttemptOutcome, type AttemptRecord } from './attempts.js';
import type { CredentialSummary } from './credential.js';
import type { CredentialStatus } from './statuses.js';

/**
 * Amazon makes sellers re-authorize every 365 days. What follows from it is computed here from stored facts, for
 * every reader alike (the ops view, /api/credentials, the sweep, the ops CLI): a deadline, the whole days left to
 * it, `expired` once it has passed. Nothing of it is ever written.
 */
export const REAUTHORIZE_AFTER_DAYS = 365;
export const DAY_MS = 86_400_000;

/** The grant's deadline: granted + 365 days, for an authorized row; null otherwise. */
export function reauthorizeBy(row: { status: CredentialStatus; authGrantedDate: Date | null }): Date | null {
  if (row.status !== 'authorized' || row.authGrantedDate === null) return null;
  return new Date(row.authGrantedDate.getTime() + REAUTHORIZE_AFTER_DAYS * DAY_MS);
}

/** Whole days from `now` to `deadline`, floored: 0 on its last day, negative once it has passed. */
export function daysLeft(deadline: Date, now: Date): number {
  return Math.floor((deadline.getTime() - now.getTime()) / DAY_MS);
}

/** The stored facts of a row and of its last started attempt, from which the ops view is read. */
export interface CredentialStatusFacts extends Pick<
  CredentialSummary,
  'customerId' | 'scope' | 'region' | 'marketplace' | 'sellingPartnerId' | 'status' | 'authRequestedDate' | 'authGrantedDate' | 'revokedAt' | 'lastError' | 'hasRefreshToken'
> {
  lastAttempt: Pick<AttemptRecord, 'createdAt' | 'outcome' | 'reason' | 'expiresAt' | 'consumedAt' | 'exchangeDeadline'> | null;
}

/** One row of the ops view: no secret columns; `status` is `expired` for an authorized row past its deadline. */
export interface CredentialStatusRow {
  customerId: CredentialSummary['customerId'];
  scope: CredentialSummary['scope'];
  region: CredentialSummary['region'];
  marketplace: string | null;
  sellingPartnerId: string | null;
  status: CredentialStatus | 'expired';
  authRequestedDate: Date | null;
  authGrantedDate: Date | null;
  /** When the row turned revoked (LWA refused its refresh token); null unless revoked. */
  revokedAt: Date | null;
  /** Whether the row still holds its sealed refresh token (a revoked one does, and is proven again by the sweep). */
  hasRefreshToken: boolean;
  /** auth_granted_date + 365 days, for authorized (and expired) rows; null otherwise. */
  reauthorizeBy: Date | null;
  /** Whole days from now to reauthorizeBy (negative once past); null when reauthorizeBy is. */
  daysLeft: number | null;
  lastError: string | null;
  /** The newest attempt STARTED for the row (website, reauthorize, appstore): refused callbacks never replace it. */
  lastAttemptAt: Date | null;
  /** As read at `now`: abandoned and interrupted included. */
  lastAttemptOutcome: AttemptOutcome | null;
  lastAttemptReason: string | null;
}

/** The ops view's row at `now`. */
export function statusRowAt(facts: CredentialStatusFacts, now: Date): CredentialStatusRow {
  const deadline = reauthorizeBy(facts);
  const days = deadline === null ? null : daysLeft(deadline, now);
  const { lastAttempt } = facts;
  return {
    customerId: facts.customerId,
    scope: facts.scope,
    region: facts.region,
    marketplace: facts.marketplace,
    sellingPartnerId: facts.sellingPartnerId,
    status: deadline !== null && deadline.getTime() < now.getTime() ? 'expired' : facts.status,
    authRequestedDate: facts.authRequestedDate,
    authGrantedDate: facts.authGrantedDate,
    revokedAt: facts.revokedAt,
    hasRefreshToken: facts.hasRefreshToken,
    reauthorizeBy: deadline,
    daysLeft: days,
    lastError: facts.lastError,
    lastAttemptAt: lastAttempt?.createdAt ?? null,
    lastAttemptOutcome: lastAttempt === null ? null : attemptOutcomeAt(lastAttempt, now),
    lastAttemptReason: lastAttempt?.reason ?? null,
  };
}

export interface StatusFilter {
  customerId?: string | undefined;
  /** Only rows with days_left <= this many whole days (already expired ones included; never rows without a deadline). */
  expiringWithinDays?: number | undefined;
}

/** "Expiring within N days": days_left <= N, as ops read the table (expired rows included, rows without a deadline not). */
export function isExpiringWithin(row: CredentialStatusRow, days: number | undefined): boolean {
  if (days === undefined) return true;
  if (!Number.isSafeInteger(days) || days < 0) throw new Error('expiringWithinDays must be a whole number of days, 0 or more');
  return row.daysLeft !== null && row.daysLeft <= days;
}

/** The ops view's order: soonest deadline first, rows without one last; the stores' order (customer, scope) within. */
export function byDaysLeft(a: CredentialStatusRow, b: CredentialStatusRow): number {
  if (a.daysLeft === b.daysLeft) return 0;
  if (a.daysLeft === null) return 1;
  if (b.daysLeft === null) return -1;
  return a.daysLeft - b.daysLeft;
}

/**
 * LWA has refused valid refresh tokens during its own incidents: a revoked row that still holds its sealed refresh
 * token is proven again (by the sweep, or `ops recheck`) for this many days after the refusal; LWA accepting it
 * authorizes the row again. The refusal stays in the attempts either way.
 */
export const REVOKED_RECHECK_DAYS = 30;

/** Whether the sweep proves this revoked row's refresh token again at `now`. */
export function isRevocationRecheckDue(row: Pick<CredentialStatusRow, 'status' | 'hasRefreshToken' | 'revokedAt'>, now: Date): boolean {
  return row.status === 'revoked' && row.hasRefreshToken && row.revokedAt !== null && now.getTime() - row.revokedAt.getTime() <= REVOKED_RECHECK_DAYS * DAY_MS;
}
