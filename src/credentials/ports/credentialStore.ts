import type { AccessTokenStore } from './accessTokenStore.js';
import type { AuthorizationStore } from './authorizationStore.js';
import type { EventStore } from './eventStore.js';
import type { HealthStore } from './healthStore.js';
import type { IncidentStore } from './incidentStore.js';
import type { OpsStore } from './opsStore.js';
import type { SecretStore } from './secretStore.js';
import type { SweepStore } from './sweepStore.js';

/**
 * Everything storage offers, as one object: the composition root opens one (SQL Server in production, SQLite for
 * local runs and tests) and hands each part only the port it needs. Both implementations pass one contract suite.
 */
export interface CredentialStore extends AuthorizationStore, AccessTokenStore, OpsStore, SweepStore, EventStore, SecretStore, HealthStore, IncidentStore {
  close(): Promise<void>;
}
