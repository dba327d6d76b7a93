/** The keys of one row of the ops JSON (`/api/credentials`, `npm run ops -- status --json`): statusJson in src/http/routes.ts. */
export const CREDENTIAL_ROW_KEYS = [
  'auth_granted_date',
  'auth_requested_date',
  'customer_id',
  'days_left',
  'has_refresh_token',
  'last_attempt_at',
  'last_attempt_outcome',
  'last_attempt_reason',
  'last_error',
  'marketplace',
  'reauthorize_by',
  'region',
  'revoked_at',
  'scope',
  'selling_partner_id',
  'status',
] as const;
