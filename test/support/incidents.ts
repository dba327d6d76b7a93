import type { IncidentSignal } from '../../src/credentials/index.js';

/** An incident signal that records nothing, for an LWA client tested on its own (the monitor has tests of its own). */
export const ignoredIncidents: IncidentSignal = {
  report: async () => undefined,
  resolved: async () => undefined,
  observe: () => undefined,
  recall: async () => undefined,
};
