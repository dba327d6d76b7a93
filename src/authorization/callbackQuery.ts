import { z } from 'zod';
import { LIMITS } from '../credentials/index.js';
import { SELLING_PARTNER_ID_PATTERN } from './identifiers.js';
import { isWellFormedState, STATE_PATTERN } from './state.js';

/** What Amazon sends to the redirect URI. Bounds are generous but finite: nothing unbounded reaches the store. */
const callbackSchema = z.object({
  state: z.string().regex(STATE_PATTERN),
  selling_partner_id: z.string().regex(SELLING_PARTNER_ID_PATTERN),
  // LWA codes are ~20 characters; 512 keeps the encrypted copy on the row well inside its column.
  spapi_oauth_code: z.string().regex(/^[\x21-\x7e]{1,512}$/),
  mws_auth_token: z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${LIMITS.mwsAuthToken}}$`)).optional(),
});

export interface CallbackParams {
  state: string;
  sellingPartnerId: string;
  code: string;
  mwsAuthToken: string | undefined;
}

/**
 * A callback query, checked. A malformed one keeps what can still be trusted of it (a well-formed state, a seller
 * id), so the refusal can be recorded against the attempt it names.
 */
export type ParsedCallback =
  | { ok: true; params: CallbackParams }
  | { ok: false; state: string | undefined; sellingPartnerId: string | undefined };

/** Each parameter must appear once; a repeated one is as malformed as a missing one. */
export function parseCallbackQuery(query: URLSearchParams): ParsedCallback {
  const single = (name: string): string | undefined => {
    const all = query.getAll(name);
    return all.length === 1 ? all[0] : undefined;
  };
  const raw = {
    state: single('state'),
    selling_partner_id: single('selling_partner_id'),
    spapi_oauth_code: single('spapi_oauth_code'),
    mws_auth_token: query.getAll('mws_auth_token').length > 1 ? '' : single('mws_auth_token'),
  };
  const parsed = callbackSchema.safeParse(raw);
  if (parsed.success) {
    const { state, selling_partner_id, spapi_oauth_code, mws_auth_token } = parsed.data;
    return { ok: true, params: { state, sellingPartnerId: selling_partner_id, code: spapi_oauth_code, mwsAuthToken: mws_auth_token } };
  }
  const partner = raw.selling_partner_id;
  return {
    ok: false,
    state: raw.state !== undefined && isWellFormedState(raw.state) ? raw.state : undefined,
    sellingPartnerId: partner !== undefined && SELLING_PARTNER_ID_PATTERN.test(partner) ? partner : undefined,
  };
}
