/**
 * App-wide incidents: something wrong for every seller at once, which is Shipica's to fix, not any seller's. Each is
 * one signal (a health warning, one error line, one event when it starts and one when it ends), never one per seller.
 * `lwa_client_rejected`: LWA refused Shipica's own client credentials (invalid_client / unauthorized_client: an
 * expired or rotated client secret). `spapi_denied_for_all`: SP-API answered 403 for every seller a sweep run checked
 * (the app's roles, or an Amazon-wide outage).
 */
export const INCIDENT_KINDS = ['lwa_client_rejected', 'spapi_denied_for_all'] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

/** One row of `service_incidents`: the latest incident of its kind. */
export interface IncidentRecord {
  kind: IncidentKind;
  /** When this incident was first seen (it started). */
  openedAt: Date;
  lastSeenAt: Date;
  /** Null while it lasts. */
  endedAt: Date | null;
  /** How many times it was reported while open. */
  seenCount: number;
  /** What Amazon said (error code and description, never a secret), as last reported. */
  detail: string | null;
}

/** Column limit of `service_incidents.detail`. */
export const INCIDENT_DETAIL_LIMIT = 500;

export const isOpen = (incident: IncidentRecord): boolean => incident.endedAt === null;

/**
 * Where the parts that talk to Amazon say an app-wide incident is happening, or that what it broke works again. The
 * monitor behind it (incidents/incidentMonitor.ts) keeps the fleet's record, one signal per incident; no call ever
 * throws (a store that fails is logged, the caller's own work goes on).
 */
export interface IncidentSignal {
  report(kind: IncidentKind, detail: string | null): Promise<void>;
  /**
   * What the incident broke works again. Costs nothing unless an incident of the kind is believed open (reported here,
   * or seen open by observe); then ends it. A caller on a seller's path need not wait for it (the write is tracked).
   */
  resolved(kind: IncidentKind): Promise<void>;
  /** The incidents as the store holds them now (each health probe reads them): which are open. */
  observe(incidents: readonly IncidentRecord[]): void;
  /** Reads them from the store into observe (the sweep does at the start of each run). */
  recall(): Promise<void>;
}
