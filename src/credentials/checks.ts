import type { CredentialScope, Region } from './marketplaces.js';
import type { NewEvent } from './events.js';

/**
 * What the credential sweep keeps per (customer, scope), beside the credential row (table
 * `sp_api_credential_checks`): its lease, the last check's outcome, what SP-API said the seller participates in, the
 * ops flag, and which re-authorization reminder was sent for which grant.
 */
export const CHECK_OUTCOMES = ['verified', 'region_mismatch', 'access_denied', 'revoked', 'rate_limited', 'error'] as const;
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number];

/** Ops flags: never a status. `spapi_access_denied`: SP-API answered 403 after a good refresh (a missing role). */
export const CHECK_FLAGS = ['spapi_access_denied', 'region_mismatch'] as const;
export type CheckFlag = (typeof CHECK_FLAGS)[number];

/** The flag an outcome sets: verified clears it; an outcome that learned nothing leaves it as it was (undefined). */
export function flagAfter(outcome: CheckOutcome): CheckFlag | null | undefined {
  switch (outcome) {
    case 'verified':
      return null;
    case 'region_mismatch':
      return 'region_mismatch';
    case 'access_denied':
      return 'spapi_access_denied';
    default:
      return undefined;
  }
}

export interface CheckClaim {
  customerId: string;
  scope: CredentialScope;
  now: Date;
  /** Another sweep skips the row until then (a sweep that died mid-check frees it by this time). */
  leaseUntil: Date;
  /** The claiming run's start: a row checked since then (by a sweep running alongside) is not checked again. */
  runStartedAt: Date;
}

export interface CheckResult {
  customerId: string;
  scope: CredentialScope;
  now: Date;
  outcome: CheckOutcome;
  /** A short reason (HTTP status, error code), never a token. */
  error: string | null;
  /** What SP-API answered, when it answered 200. */
  participation: { marketplaceIds: string[]; countryCodes: string[]; storeName: string | null } | undefined;
  /** Written, in the same transaction, only when this result sets a flag the row did not have. */
  flagEvent: NewEvent | undefined;
  /**
   * The outcome is recorded, the flag left as it is (no event): an SP-API 403 the sweep cannot yet tell from an
   * app-wide denial (see appWideDenial). Absent: the flag follows flagAfter, and a flag cleared by it is told with
   * authorization.flag_cleared.
   */
  keepFlag?: boolean | undefined;
}

/** Fewest sellers answered in one sweep run for "SP-API denied every one of them" to be the app's incident, not theirs. */
export const APP_WIDE_DENIAL_MIN_SELLERS = 2;

/** Whether a sweep run's SP-API 403s are one app-wide denial: every seller SP-API answered for was denied, and enough of them. */
export function appWideDenial(counts: { answered: number; denied: number }): boolean {
  return counts.answered >= APP_WIDE_DENIAL_MIN_SELLERS && counts.denied === counts.answered;
}

export interface DeadlineReminder {
  customerId: string;
  scope: CredentialScope;
  /** The grant the reminder is about: a re-authorization (a new grant) starts the reminders over. */
  grantedAt: Date;
  /** 30 or 7 (days left at most), 0 for expired. One event per threshold and grant; a looser one is never sent after a tighter one. */
  threshold: 30 | 7 | 0;
  event: NewEvent;
}

export interface CredentialCheckRecord {
  customerId: string;
  scope: CredentialScope;
  region: Region;
  leaseUntil: Date | null;
  checkedAt: Date | null;
  checkOutcome: CheckOutcome | null;
  checkError: string | null;
  verifiedAt: Date | null;
  marketplaceIds: string[];
  countryCodes: string[];
  storeName: string | null;
  flag: CheckFlag | null;
  remindedThreshold: number | null;
  remindedForGrant: Date | null;
}

export const CHECK_LIMITS = { marketplaceIds: 1000, countryCodes: 400, storeName: 200, checkError: 500 } as const;
