import type { IncidentKind, IncidentRecord } from '../incidents.js';

/** What the incident monitor needs: app-wide incidents, fleet-wide (every instance reads and writes the same rows). */
export interface IncidentStore {
  /**
   * Notes the incident at `now`, in one transaction: opens it (first seen now, a `service.incident_started` event)
   * when none of its kind is open, else counts it and moves last_seen_at. True when this call opened it.
   */
  recordIncident(report: IncidentReport): Promise<boolean>;

  /** Ends the open incident of `kind` (a `service.incident_ended` event), in one transaction. True when it ended one. */
  endIncident(end: { kind: IncidentKind; now: Date }): Promise<boolean>;

  /** The latest incident of each kind, open or ended. */
  listIncidents(): Promise<IncidentRecord[]>;
}

export interface IncidentReport {
  kind: IncidentKind;
  /** What Amazon said, without secrets (clipped to INCIDENT_DETAIL_LIMIT). */
  detail: string | null;
  now: Date;
}
