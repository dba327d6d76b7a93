import { acceptCallback } from './acceptCallback.js';
import { claimAccessTokenLease } from './claimAccessTokenLease.js';
import { claimCredentialCheck } from './claimCredentialCheck.js';
import { completeAuthorization } from './completeAuthorization.js';
import { failAuthorization } from './failAuthorization.js';
import { importRefreshToken } from './importRefreshToken.js';
import { endIncident, recordIncident } from './incidents.js';
import { markRevoked } from './markRevoked.js';
import type { ProcedureSource } from './operation.js';
import { recordCallback } from './recordCallback.js';
import { recordCredentialCheck } from './recordCredentialCheck.js';
import { recordDeadlineReminder } from './recordDeadlineReminder.js';
import { recordRefusedCallback } from './recordRefusedCallback.js';
import { replaceFingerprint } from './replaceFingerprint.js';
import { restoreRevoked } from './restoreRevoked.js';
import { startAuthorization } from './startAuthorization.js';
import { startLoginUriAttempt } from './startLoginUriAttempt.js';
import { storeSharedAccessToken } from './storeSharedAccessToken.js';
import { unlinkCredential } from './unlinkCredential.js';

/** Every operation, each one stored procedure (db:migrate creates them in this order). */
const ALL = {
  startAuthorization,
  startLoginUriAttempt,
  acceptCallback,
  recordCallback,
  completeAuthorization,
  failAuthorization,
  recordRefusedCallback,
  unlinkCredential,
  markRevoked,
  restoreRevoked,
  importRefreshToken,
  replaceFingerprint,
  claimAccessTokenLease,
  storeSharedAccessToken,
  claimCredentialCheck,
  recordCredentialCheck,
  recordDeadlineReminder,
  recordIncident,
  endIncident,
};
export const OPERATIONS: readonly ProcedureSource[] = Object.values(ALL);
export {
  acceptCallback,
  claimAccessTokenLease,
  claimCredentialCheck,
  completeAuthorization,
  endIncident,
  failAuthorization,
  importRefreshToken,
  markRevoked,
  recordCallback,
  recordCredentialCheck,
  recordDeadlineReminder,
  recordIncident,
  recordRefusedCallback,
  replaceFingerprint,
  restoreRevoked,
  startAuthorization,
  startLoginUriAttempt,
  storeSharedAccessToken,
  unlinkCredential,
};
