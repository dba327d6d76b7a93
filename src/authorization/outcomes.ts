import type { CredentialScope } from '../credentials/index.js';

/**
 * Callback refused before any exchange: the caller's request was wrong, or came too late or from elsewhere. Nothing
 * on the credential row changes; the refusal is recorded against the attempt it names (bounded).
 */
export const REFUSAL_REASONS = [
  'callback_invalid',
  'state_invalid',
  'state_expired',
  'state_replayed',
  'browser_mismatch',
  'vendor_not_supported',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** The callback was accepted (state consumed) but the authorization did not complete. Recorded on the row. */
export const FAILURE_REASONS = [
  'partner_mismatch',
  'partner_conflict',
  'partner_changed',
  'code_rejected',
  'lwa_unavailable',
  'lwa_client_error',
  'storage_error',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** partner_changed: the seller a row is authorized for, and the one Amazon returned instead. */
export interface PartnerSwitch {
  linked: string;
  returned: string;
  scope: CredentialScope;
}

export type CallbackOutcome =
  | { kind: 'authorized'; customerId: string; scope: CredentialScope; marketplace: string; sellingPartnerId: string }
  | { kind: 'refused'; reason: RefusalReason; marketplace: string | undefined }
  | {
      kind: 'failed';
      reason: FailureReason;
      marketplace: string | undefined;
      lwaError: string | undefined;
      /** partner_changed: the seller the row is authorized for, and the one Amazon returned. */
      partners?: PartnerSwitch | undefined;
    }
  /** A duplicate of a callback whose exchange is still running elsewhere and did not finish while we waited. */
  | { kind: 'in_progress'; marketplace: string | undefined }
  /** The state was consumed but its exchange never finished (the process died): the seller must start again. */
  | { kind: 'interrupted'; marketplace: string | undefined }
  /** The state was already used, and this browser is not the one that used it: nothing to tell it but that. */
  | { kind: 'already_used'; marketplace: string | undefined };

export function isFailureReason(value: string | null): value is FailureReason {
  return (FAILURE_REASONS as readonly (string | null)[]).includes(value);
}

/** The reason code a result page and AUTH_RESULT_URL carry for an outcome other than authorized. */
export function outcomeReason(outcome: Exclude<CallbackOutcome, { kind: 'authorized' }>): RefusalReason | FailureReason | 'in_progress' | 'interrupted' | 'already_used' {
  switch (outcome.kind) {
    case 'refused':
    case 'failed':
      return outcome.reason;
    case 'in_progress':
    case 'interrupted':
    case 'already_used':
      return outcome.kind;
  }
}
