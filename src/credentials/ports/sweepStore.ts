import type { CheckClaim, CheckResult, CredentialCheckRecord, DeadlineReminder } from '../checks.js';
import type { CredentialStatusRow, StatusFilter } from '../deadlines.js';
import type { AttemptPurge } from './opsStore.js';
import type { EventPurge } from './eventStore.js';

/** What the credential sweep needs: its side table sp_api_credential_checks, the ops view, and the retention purges. */
export interface SweepStore {
  /**
   * Takes the sweep's lease on (customer, scope) when no other sweep holds it and no sweep checked the row since
   * `runStartedAt` (creating the check row when missing). True for exactly one of two sweeps running at once.
   */
  claimCredentialCheck(claim: CheckClaim): Promise<boolean>;

  /**
   * Records a check and releases the lease, in one transaction: the outcome, what SP-API answered (verified_at,
   * marketplaces, store name) when it answered, the flag the outcome sets, and `flagEvent` when that flag is new.
   */
  recordCredentialCheck(result: CheckResult): Promise<void>;

  /**
   * Writes the reminder's event once per threshold and grant (a looser threshold never after a tighter one), only
   * while the row is authorized with that grant, in one transaction. True when it wrote the event.
   */
  recordDeadlineReminder(reminder: DeadlineReminder): Promise<boolean>;

  /** The check rows, by customer and region. */
  listCredentialChecks(filter?: { customerId?: string | undefined }): Promise<CredentialCheckRecord[]>;

  listCredentialStatus(filter: StatusFilter, now: Date): Promise<CredentialStatusRow[]>;
  purgeAttempts(input: AttemptPurge): Promise<number>;
  purgeEvents(purge: EventPurge): Promise<number>;
}
