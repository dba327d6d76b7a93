import type { LaunchLinkProblem } from '../authorization/launchLink.js';
import type { CallbackOutcome } from '../authorization/outcomes.js';
import { html } from './html.js';
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

export function launchLinkRefusedPage(problem: LaunchLinkProblem | 'amazon_callback_invalid'): HttpResult {
  const what = problem === 'amazon_callback_invalid' ? 'The Amazon address in this link is not an Amazon Seller Central address of its marketplace.' : LAUNCH_LINK_TEXT[problem];
  return errorPage(400, 'This authorization link cannot be used', what, START_AGAIN, problem);
}

export function loginRefusedPage(problem: 'login_request_invalid' | 'amazon_callback_invalid'): HttpResult {
  const what =
    problem === 'amazon_callback_invalid'
      ? 'This request did not come from Amazon Seller Central (its return address is not an Amazon one).'
      : 'This request from Amazon is incomplete or malformed.';
  return errorPage(400, 'Shipica cannot continue this request', what, 'Start again from Seller Central > Manage Your Apps, or from Shipica.', problem);
}

export function startFromShipicaPage(): HttpResult {
  return htmlResponse(
    200,
    'Connect Amazon from Shipica',
    html`<h1>Connect your Amazon account from Shipica</h1>
<p>Shipica does not know this Amazon seller account yet.</p>
<p>Log in to Shipica's web app and click "Authorize Shipica" there; Amazon will then ask you to confirm.</p>`,
  );
}

export function notConfiguredPage(): HttpResult {
  return errorPage(503, 'Authorization is unavailable', 'This service is not configured correctly right now.', 'Please try again later; Shipica has been notified.', 'not_configured');
}

export function startUnavailablePage(): HttpResult {
  return errorPage(503, 'Authorization is unavailable', 'Shipica could not record the start of your authorization.', 'Please try again in a few minutes.', 'storage_error');
}

type OutcomeReason = Exclude<CallbackOutcome, { kind: 'authorized' }> extends infer O ? (O extends { reason: infer R } ? R : 'in_progress') : never;

const CALLBACK_TEXT: Record<OutcomeReason, { status: number; what: string; next: string }> = {
  callback_invalid: { status: 400, what: "Amazon's reply was incomplete or malformed.", next: START_AGAIN },
  state_invalid: { status: 400, what: 'This reply does not belong to an authorization Shipica started.', next: START_AGAIN },
  state_expired: { status: 400, what: 'The authorization took too long and has expired.', next: START_AGAIN },
  state_replayed: {
    status: 400,
    what: 'This authorization request has already been used.',
    next: `If you have just authorized Shipica, you are done: nothing more is needed. Otherwise: ${START_AGAIN}`,
  },
  browser_mismatch: {
    status: 400,
    what: 'The authorization must be finished in the same browser it was started in.',
    next: 'If you already finished it in another browser, you are done. Otherwise, start again in this browser from Shipica or from Seller Central > Manage Your Apps.',
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
  code_rejected: { status: 400, what: 'Amazon did not accept the authorization (it may have expired or been used).', next: START_AGAIN },
  lwa_unavailable: { status: 503, what: "Amazon's login service did not answer in time.", next: 'Please try again in a few minutes.' },
  lwa_client_error: {
    status: 502,
    what: "Amazon refused Shipica's application credentials.",
    next: 'Shipica has been notified. Please try again later.',
  },
  storage_error: { status: 503, what: 'Shipica could not save the authorization.', next: 'Please try again in a few minutes.' },
  in_progress: { status: 409, what: 'This authorization is still being completed.', next: 'Reload this page in a moment.' },
};

export function callbackPage(outcome: CallbackOutcome): HttpResult {
  if (outcome.kind === 'authorized') {
    return htmlResponse(
      200,
      'Shipica is authorized',
      html`<h1 class="ok">Shipica is authorized</h1>
<p>Shipica can now work with your Amazon seller account <code>${outcome.sellingPartnerId}</code> in the ${outcome.region} region.</p>
<p>You can close this window and return to Shipica.</p>`,
    );
  }
  const reason = outcome.kind === 'in_progress' ? 'in_progress' : outcome.reason;
  const text = CALLBACK_TEXT[reason];
  return errorPage(text.status, 'Shipica was not authorized', text.what, text.next, reason);
}

function errorPage(status: number, title: string, what: string, next: string, reason: string): HttpResult {
  return htmlResponse(
    status,
    title,
    html`<h1 class="err">${title}</h1>
<p>${what}</p>
<p>${next}</p>
<p><small>Reason: <code>${reason}</code></small></p>`,
  );
}
