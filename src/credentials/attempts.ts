import type { CredentialScope, Region } from './marketplaces.js';

/**
 * An attempt is one try at an authorization (or one change made to a credential row), kept as its audit.
 * `website`: started by AuthorizeStart from oxWebApp's button. `reauthorize`: Seller Central > Manage Your Apps >
 * Re-Authorize, entering through the Login URI for a seller we know. `appstore`: a first install from the Appstore,
 * entering through the Login URI and identified by oxWebApp. `callback`: a refused callback, recorded on a row of its
 * own. `refresh`: an access-token refresh that found the authorization revoked (the audit of that change). `ops`: an
 * ops action on the row (`npm run ops -- unlink`). `self_authorization`: a refresh token a seller made for a private
 * app in Seller Central (Develop Apps > Authorize), imported by `npm run ops -- import-refresh-token`.
 */
export const ATTEMPT_FLOWS = ['website', 'reauthorize', 'appstore', 'callback', 'refresh', 'ops', 'self_authorization'] as const;
export type AttemptFlow = (typeof ATTEMPT_FLOWS)[number];
/** The flows that start at a browser and wait for Amazon's callback. */
export type StartedFlow = Extract<AttemptFlow, 'website' | 'reauthorize' | 'appstore'>;

/** Outcomes as stored on an attempt row. */
export const STORED_ATTEMPT_OUTCOMES = ['pending', 'succeeded', 'failed', 'refused'] as const;
/**
 * Outcomes as read: a pending attempt past its state's expiry that no callback consumed is `abandoned`; one consumed
 * whose exchange never finished (the process died) is `interrupted` once its exchange deadline has passed. Both are
 * computed from the row and the clock, never written, so no job is needed.
 */
export const ATTEMPT_OUTCOMES = [...STORED_ATTEMPT_OUTCOMES, 'abandoned', 'interrupted'] as const;
export type StoredAttemptOutcome = (typeof STORED_ATTEMPT_OUTCOMES)[number];
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** The stored facts an attempt's outcome is read from. */
export type AttemptOutcomeFacts = Pick<AttemptRecord, 'outcome' | 'expiresAt' | 'consumedAt' | 'exchangeDeadline'>;

/** The outcome an attempt reads as at `now` (see ATTEMPT_OUTCOMES). */
export function attemptOutcomeAt(attempt: AttemptOutcomeFacts, now: Date): AttemptOutcome {
  if (attempt.outcome !== 'pending') return attempt.outcome;
  if (attempt.consumedAt === null) return attempt.expiresAt !== null && attempt.expiresAt.getTime() <= now.getTime() ? 'abandoned' : 'pending';
  return attempt.exchangeDeadline !== null && attempt.exchangeDeadline.getTime() <= now.getTime() ? 'interrupted' : 'pending';
}

/** Whether an attempt has ended at `now`: any outcome but pending, once read (abandoned and interrupted included). */
export function attemptEndedAt(attempt: AttemptOutcomeFacts, now: Date): boolean {
  return attemptOutcomeAt(attempt, now) !== 'pending';
}

/**
 * Which attempts may be a row's "last attempt" (the ops view, and the attempt the purge always keeps): the newest of
 * the STARTED flows, a `reauthorize` attempt counting only once a callback consumed it, since the Login URI is
 * anonymous and an unanswered request there must not hide a real outcome. store/sql/lastAttempt.ts spells the same
 * rule in SQL (the row is chosen where the attempts are).
 */
export function isLastAttemptCandidate(attempt: Pick<AttemptRecord, 'flow' | 'consumedAt'>): boolean {
  return attempt.flow === 'website' || attempt.flow === 'appstore' || (attempt.flow === 'reauthorize' && attempt.consumedAt !== null);
}

/** Refused callbacks recorded per attempt; more are logged and counted, not stored (the audit stays bounded). */
export const MAX_REFUSALS_PER_ATTEMPT = 20;
/**
 * Attempts of one (customer, scope) that may be open (unexpired, unconsumed) at once; more are refused. Counted
 * apart for the anonymous Login URI (`reauthorize`) and for the signed flows (website, appstore), so anyone who knows
 * a seller id cannot lock the seller out of authorizing from Shipica.
 */
export const MAX_OPEN_ATTEMPTS = 20;

export interface NewAttempt {
  stateHash: string;
  browserBindingHash: string;
  flow: StartedFlow;
  /** For the Login-URI flows: the seller Amazon named, whom the callback must return. */
  expectedSellingPartnerId: string | null;
  customerId: string;
  scope: CredentialScope;
  marketplace: string;
  createdAt: Date;
  expiresAt: Date;
}

export interface AttemptRecord {
  attemptId: number;
  stateHash: string | null;
  browserBindingHash: string | null;
  flow: AttemptFlow;
  customerId: string | null;
  scope: CredentialScope | null;
  region: Region | null;
  marketplace: string | null;
  sellingPartnerId: string | null;
  expectedSellingPartnerId: string | null;
  codeHash: string | null;
  createdAt: Date;
  expiresAt: Date | null;
  consumedAt: Date | null;
  /** Set when the state is consumed: by then the exchange and the write of its outcome must have finished. */
  exchangeDeadline: Date | null;
  completedAt: Date | null;
  /** As stored; read it through attemptOutcomeAt for `abandoned` and `interrupted`. */
  outcome: StoredAttemptOutcome;
  reason: string | null;
  lwaError: string | null;
  lwaErrorDescription: string | null;
  relatedAttemptId: number | null;
  /** Refused callbacks recorded against this attempt (at most MAX_REFUSALS_PER_ATTEMPT). */
  refusalCount: number;
}
