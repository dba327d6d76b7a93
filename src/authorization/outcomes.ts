import type { Region } from './marketplaces.js';

/** Callback refused before any exchange: the caller's request was wrong. Nothing on the credential row changes. */
export const REFUSAL_REASONS = ['callback_invalid', 'state_invalid', 'state_expired', 'state_replayed', 'browser_mismatch'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** The callback was accepted (state consumed) but the authorization did not complete. Recorded on the row. */
export const FAILURE_REASONS = ['partner_mismatch', 'partner_conflict', 'code_rejected', 'lwa_unavailable', 'lwa_client_error', 'storage_error'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export type CallbackOutcome =
  | { kind: 'authorized'; customerId: string; region: Region; marketplace: string; sellingPartnerId: string }
  | { kind: 'refused'; reason: RefusalReason; marketplace: string | undefined }
  | { kind: 'failed'; reason: FailureReason; marketplace: string | undefined; lwaError: string | undefined }
  /** A duplicate of a callback whose exchange is still running elsewhere and did not finish while we waited. */
  | { kind: 'in_progress'; marketplace: string | undefined };

export function isFailureReason(value: string | null): value is FailureReason {
  return (FAILURE_REASONS as readonly (string | null)[]).includes(value);
}
