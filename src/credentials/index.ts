/**
 * The domain every part shares: what a credential and an attempt are, the status rules, the deadlines, limits,
 * regions and marketplaces, the events and checks, the outside things (clock, logger), and the store ports, split
 * by consumer. Nothing here imports an adapter, a driver or Azure; adapters import this.
 */
export * from './attempts.js';
export * from './checks.js';
export * from './credential.js';
export * from './deadlines.js';
export * from './events.js';
export * from './incidents.js';
export * from './limits.js';
export * from './marketplaces.js';
export * from './runtime.js';
export * from './statuses.js';
export * from './ports/accessTokenStore.js';
export * from './ports/authorizationStore.js';
export * from './ports/credentialStore.js';
export * from './ports/eventStore.js';
export * from './ports/healthStore.js';
export * from './ports/incidentStore.js';
export * from './ports/opsStore.js';
export * from './ports/secretStore.js';
export * from './ports/sweepStore.js';
