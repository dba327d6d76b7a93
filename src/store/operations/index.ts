import { acceptCallback } from './acceptCallback.js';
import { claimAccessTokenLease } from './claimAccessTokenLease.js';
import { claimCredentialCheck } from './claimCredentialCheck.js';
import { completeAuthorization } from './completeAuthorization.js';
import { failAuthorization } from './failAuthorization.js';
import { importRefreshToken } from './importRefreshToken.js';
import { markRevoked } from './markRevoked.js';
import type { ProcedureSource } from './operation.js';
import { recordCallback } from './recordCallback.js';
import { recordCredentialCheck } from './recordCredentialCheck.js';
import { recordDeadlineReminder } from './recordDeadlineReminder.js';
import { recordRefusedCallback } from './recordRefusedCallback.js';
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
  importRefreshToken,
  claimAccessTokenLease,
  storeSharedAccessToken,
  claimCredentialCheck,
  recordCredentialCheck,
  recordDeadlineReminder,
};
export const OPERATIONS: readonly ProcedureSource[] = Object.values(ALL);
export {
  acceptCallback,
  claimAccessTokenLease,
  claimCredentialCheck,
  completeAuthorization,
  failAuthorization,
  importRefreshToken,
  markRevoked,
  recordCallback,
  recordCredentialCheck,
  recordDeadlineReminder,
  recordRefusedCallback,
  startAuthorization,
  startLoginUriAttempt,
  storeSharedAccessToken,
  unlinkCredential,
};
