import type { LaunchLinkProblem } from '../authorization/launchLink.js';
import { lastFour } from '../authorization/identifiers.js';
import { outcomeReason, type CallbackOutcome } from '../authorization/outcomes.js';
import { SCOPE_NAMES } from '../credentials/index.js';
import { html, type Html } from './html.js';
import { htmlResponse } from './responses.js';
import type { HttpResult } from './types.js';

/** What the seller reads: what happened and what to do next. Values are escaped; no secret is ever passed in. */

const START_AGAIN = 'Start again from Shipica ("Authorize Shipica"), or from Seller Central > Manage Your Apps if you came from there.';

const LAUNCH_LINK_TEXT: Record<LaunchLinkProblem, string> = {
  link_incomplete: 'The authorization link is incomplete (a field is missing or repeated).',
  signature_missing: 'The authorization link is not signed.',
  signature_invalid: 'The authorization link was not issued by Shipica or has been changed.',
  expires_invalid: 'The authorization link has an invalid expiry time.',
  link_expired: 'The authorization link has expired.',
  expires_too_far: 'The authorization link is valid for longer than Shipica allows.',
  marketplace_unknown: 'The authorization link names a marketplace Shipica does not know.',
  customer_id_invalid: 'The authorization link has an invalid customer id.',
  appstore_fields_invalid: 'The authorization link carries malformed Amazon Appstore details.',
};

export function launchLinkRefusedPage(problem: LaunchLinkProblem | 'amazon_callback_invalid' | 'vendor_not_supported', back: ReturnLink): HttpResult {
  const what =
    problem === 'amazon_callback_invalid'
      ? 'The Amazon address in this link is not an Amazon Seller Central address of its marketplace.'
      : problem === 'vendor_not_supported'
        ? VENDOR_TEXT
        : LAUNCH_LINK_TEXT[problem];
  return errorPage(400, 'This authorization link cannot be used', what, START_AGAIN, problem, back);
}

const VENDOR_TEXT = 'This is an Amazon vendor account (Vendor Central). Shipica works with Amazon seller accounts (Seller Central).';

export function loginRefusedPage(problem: 'login_request_invalid' | 'amazon_callback_invalid' | 'vendor_not_supported', back: ReturnLink): HttpResult {
  const what =
    problem === 'amazon_callback_invalid'
      ? 'This request did not come from Amazon Seller Central (its return address is not an Amazon one).'
      : problem === 'vendor_not_supported'
        ? VENDOR_TEXT
        : 'This request from Amazon is incomplete or malformed.';
  const next = problem === 'vendor_not_supported' ? 'Sign in to Seller Central with your seller account and start again.' : 'Start again from Seller Central > Manage Your Apps, or from Shipica.';
  return errorPage(400, 'Shipica cannot continue this request', what, next, problem, back);
}

/** `ambiguous`: the seller is linked in several scopes and Amazon's return address did not say which. */
export function startFromShipicaPage(back: ReturnLink, why: 'unknown_seller' | 'ambiguous' = 'unknown_seller'): HttpResult {
  const what =
    why === 'ambiguous'
      ? 'Shipica cannot tell from Amazon\'s request which of your Amazon authorizations (North America, Europe, Japan, Australia, Singapore) you are renewing.'
      : 'Shipica does not know this Amazon seller account yet.';
  return htmlResponse(
    200,
    'Connect Amazon from Shipica',
    html`<h1>Connect your Amazon account from Shipica</h1>
<p>${what}</p>
<p>Log in to Shipica's web app and click "Authorize Shipica" there; Amazon will then ask you to confirm.</p>${backLink(back)}`,
  );
}

export function tooManyAttemptsPage(back: ReturnLink): HttpResult {
  return errorPage(
    429,
    'Too many authorizations in progress',
    'Several authorizations of this account were started in the last few minutes and are still open.',
    'Finish one of them, or wait ten minutes and start again from Shipica.',
    'too_many_attempts',
    back,
  );
}

export function notConfiguredPage(): HttpResult {
  return errorPage(503, 'Authorization is unavailable', 'This service is not configured correctly right now.', 'Please try again later; Shipica has been notified.', 'not_configured');
}

export function startUnavailablePage(back: ReturnLink): HttpResult {
  return errorPage(503, 'Authorization is unavailable', 'Shipica could not record the start of your authorization.', 'Please try again in a few minutes.', 'storage_error', back);
}

type OutcomeReason = ReturnType<typeof outcomeReason>;

/** Where a dead end sends the seller back to: oxWebApp (OXWEBAPP_LINK_URL, else AUTH_RESULT_URL), when configured. */
export type ReturnLink = string | undefined;

const START_OVER = 'Start again from Shipica ("Authorize Shipica").';

/** A sentence continued after other words ("Otherwise, start again…"). */
function continued(sentence: string): string {
  return `${sentence.charAt(0).toLowerCase()}${sentence.slice(1)}`;
}

const CALLBACK_TEXT: Record<Exclude<OutcomeReason, 'already_used'>, { status: number; what: string; next: string }> = {
  callback_invalid: { status: 400, what: "Amazon's reply was incomplete or malformed.", next: START_AGAIN },
  state_invalid: { status: 400, what: 'This reply does not belong to an authorization Shipica started.', next: START_AGAIN },
  state_expired: { status: 400, what: 'This took too long: the authorization expired before Amazon sent you back.', next: START_OVER },
  state_replayed: {
    status: 400,
    what: 'This authorization request has already been used.',
    next: `If you have just authorized Shipica, you are done: nothing more is needed. Otherwise: ${START_AGAIN}`,
  },
  browser_mismatch: {
    status: 400,
    what: 'The authorization must be finished in the same browser it was started in.',
    next: 'Start again in this browser from Shipica or from Seller Central > Manage Your Apps.',
  },
  vendor_not_supported: {
    status: 400,
    what: 'This is an Amazon vendor account (Vendor Central). Shipica works with Amazon seller accounts (Seller Central).',
    next: 'Sign in to Seller Central with your seller account and start again from Shipica.',
  },
  partner_mismatch: {
    status: 409,
    what: 'You authorized a different Amazon seller account than the one this request was for.',
    next: 'Sign in to Seller Central with the account you want to connect, and start again.',
  },
  partner_conflict: {
    status: 409,
    what: 'This Amazon seller account is already connected to a different Shipica account.',
    next: 'Contact Shipica support to move the connection.',
  },
  // A reload of the partner_changed page (the seller ids are only known to the request that refused it).
  partner_changed: {
    status: 409,
    what: 'You authorized a different Amazon seller account than the one this Shipica account is connected to.',
    next: 'Your current connection is unchanged and keeps working. To connect the other account instead, ask Shipica support to unlink the current one, then authorize again.',
  },
  code_rejected: { status: 400, what: 'Amazon did not accept the authorization (it may have expired or been used).', next: START_AGAIN },
  lwa_unavailable: {
    status: 503,
    what: "Amazon's login service did not answer in time, or not with a usable answer, so this authorization could not be finished.",
    next: `Please wait a few minutes, then ${continued(START_OVER)}`,
  },
  // Only when LWA said so (invalid_client, unauthorized_client): see lwaRequestRefused for its other refusals.
  lwa_client_error: {
    status: 502,
    what: "Amazon refused Shipica's application credentials.",
    next: `Shipica has been notified. Please try again later: ${START_OVER}`,
  },
  storage_error: {
    status: 503,
    what: 'Shipica could not save the authorization Amazon granted.',
    next: `Shipica has been notified. Please ${continued(START_OVER)}`,
  },
  in_progress: { status: 409, what: 'This authorization is still being completed.', next: 'Reload this page in a moment.' },
  interrupted: {
    status: 409,
    what: 'This authorization was interrupted before Shipica could finish it.',
    next: START_OVER,
  },
};

/** LWA's `error` codes that do say Shipica's client id or secret was refused. */
const CREDENTIAL_ERRORS: ReadonlySet<string> = new Set(['invalid_client', 'unauthorized_client']);

/**
 * lwa_client_error for any other 4xx of the code exchange (invalid_request, unsupported_grant_type, an HTML 400: a
 * redirect URI Amazon does not know, say): Shipica's request was refused, which is Shipica's configuration to fix,
 * but nothing says its credentials were. The reason code stays lwa_client_error; the words say only what is known.
 */
const LWA_REQUEST_REFUSED = {
  status: 502,
  what: "Amazon's login service refused Shipica's request to finish the authorization. This is a configuration problem at Shipica, not something you did.",
  next: 'Shipica has been notified. Please try again later, or contact Shipica support if it keeps happening.',
};

export function callbackPage(outcome: CallbackOutcome, back: ReturnLink): HttpResult {
  if (outcome.kind === 'authorized') {
    return htmlResponse(
      200,
      'Shipica is authorized',
      html`<h1 class="ok">Shipica is authorized</h1>
<p>Shipica can now work with your Amazon seller account <code>${outcome.sellingPartnerId}</code> in ${SCOPE_NAMES[outcome.scope]}.</p>
<p>You can close this window and return to Shipica.</p>${backLink(back)}`,
    );
  }
  if (outcome.kind === 'already_used') {
    // Another browser presented a state that was already used: neutral, and nothing about how that attempt ended.
    return neutralPage(200, 'This authorization link was already used', START_OVER, 'already_used', back);
  }
  if (outcome.kind === 'failed' && outcome.reason === 'partner_changed' && outcome.partners !== undefined) {
    const { linked, returned, scope } = outcome.partners;
    return errorPage(
      409,
      'Shipica was not authorized',
      `This Shipica account is connected to the Amazon seller account ending in …${lastFour(linked)} in ${SCOPE_NAMES[scope]}, and you just authorized the one ending in …${lastFour(returned)}.`,
      `Your connection to …${lastFour(linked)} is unchanged and keeps working. To connect …${lastFour(returned)} instead, ask Shipica support to unlink the current account, then authorize again; or sign in to Seller Central as …${lastFour(linked)} and start again.`,
      'partner_changed',
      back,
    );
  }
  const reason = outcomeReason(outcome);
  const refusedRequest = outcome.kind === 'failed' && reason === 'lwa_client_error' && !CREDENTIAL_ERRORS.has(outcome.lwaError ?? '');
  const text = refusedRequest ? LWA_REQUEST_REFUSED : CALLBACK_TEXT[reason === 'already_used' ? 'state_replayed' : reason];
  return errorPage(text.status, 'Shipica was not authorized', text.what, text.next, reason, back);
}

/** A result page whose id is not ours, was changed, or is older than its hour (an old history entry). */
export function resultUnavailablePage(back: ReturnLink): HttpResult {
  return neutralPage(400, 'This result is no longer shown', START_AGAIN, 'result_unavailable', back);
}

/** A page that says nothing about how an attempt ended: done already, or start again. */
function neutralPage(status: number, title: string, startAgain: string, reason: string, back: ReturnLink): HttpResult {
  return htmlResponse(
    status,
    title,
    html`<h1>${title}</h1>
<p>If you finished authorizing Shipica, there is nothing more to do.</p>
<p>Otherwise, ${continued(startAgain)}</p>${backLink(back)}
<p><small>Reason: <code>${reason}</code></small></p>`,
  );
}

function backLink(back: ReturnLink): Html {
  return back === undefined ? html`` : html`<p><a class="button" href="${back}">Back to Shipica</a></p>`;
}

function errorPage(status: number, title: string, what: string, next: string, reason: string, back?: ReturnLink): HttpResult {
  return htmlResponse(
    status,
    title,
    html`<h1 class="err">${title}</h1>
<p>${what}</p>
<p>${next}</p>${backLink(back)}
<p><small>Reason: <code>${reason}</code></small></p>`,
  );
}
