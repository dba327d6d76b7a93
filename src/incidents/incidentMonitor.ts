import {
  describeError,
  INCIDENT_DETAIL_LIMIT,
  isOpen,
  type Clock,
  type IncidentKind,
  type IncidentRecord,
  type IncidentSignal,
  type IncidentStore,
  type Logger,
} from '../credentials/index.js';

/** What an incident means for ops: the one error line written when it starts, and the line when it ends. */
const MEANING: Record<IncidentKind, string> = {
  lwa_client_rejected:
    "Login with Amazon refuses Shipica's client credentials (invalid_client / unauthorized_client) for every seller: the LWA client secret was most likely rotated or has expired. Set LWA_CLIENT_SECRET to the current secret (LWA_CLIENT_SECRET_PREVIOUS to the old one during rotation); no seller's authorization is changed.",
  spapi_denied_for_all:
    "SP-API answers 403 for every seller the credential sweep checked: the app's roles in Solution Provider Portal, its LWA credentials, or an Amazon-wide outage; no seller is flagged for it.",
};

/** How often one instance counts a report of an incident it knows is open (each count is a store write). */
export const INCIDENT_WRITE_INTERVAL_MS = 60_000;

/**
 * App-wide incidents as one signal: the fleet shares one row per kind (service_incidents), so the first instance to
 * see one opens it (one error-level line, one service.incident_started event) and every later report only counts;
 * /api/health shows it as a warning. The first success of the kind after it (a grant LWA accepts, a sweep run in
 * which SP-API answered a seller) ends it, with one service.incident_ended event. Bounded: a report writes at most
 * once a minute per kind and instance; a success writes nothing unless this instance believes an incident of its
 * kind is open (it reported it, or a health probe or sweep run saw it open: observe), so the seller's path costs no
 * store call on a good day.
 */
export class IncidentMonitor implements IncidentSignal {
  /** Kinds this instance opened or counted, by when it last wrote about them. */
  private readonly reported = new Map<IncidentKind, number>();
  /** Kinds believed open: reported here, or seen open in the store. */
  private readonly believedOpen = new Set<IncidentKind>();
  /** Ends under way, so close (settled) can wait for them. */
  private readonly ending = new Set<Promise<void>>();

  constructor(private readonly deps: { store: IncidentStore; clock: Clock; logger: Logger }) {}

  async report(kind: IncidentKind, detail: string | null): Promise<void> {
    const now = this.deps.clock.now();
    this.believedOpen.add(kind);
    const last = this.reported.get(kind);
    if (last !== undefined && now.getTime() - last < INCIDENT_WRITE_INTERVAL_MS) return;
    this.reported.set(kind, now.getTime());
    try {
      const opened = await this.deps.store.recordIncident({ kind, detail: detail === null ? null : detail.slice(0, INCIDENT_DETAIL_LIMIT), now });
      if (opened) this.deps.logger.error(`incident started: ${MEANING[kind]}`, { incident: kind, detail });
    } catch (error) {
      this.deps.logger.warn('an app-wide incident could not be recorded', { incident: kind, error: describeError(error) });
    }
  }

  resolved(kind: IncidentKind): Promise<void> {
    if (!this.believedOpen.has(kind)) return Promise.resolve();
    this.believedOpen.delete(kind);
    this.reported.delete(kind);
    const ending = this.end(kind).finally(() => this.ending.delete(ending));
    this.ending.add(ending);
    return ending;
  }

  observe(incidents: readonly IncidentRecord[]): void {
    for (const incident of incidents) {
      if (isOpen(incident)) this.believedOpen.add(incident.kind);
      else if (!this.reported.has(incident.kind)) this.believedOpen.delete(incident.kind);
    }
  }

  /** Reads the store's incidents into observe (the sweep does at the start of each run); a store that fails is a warning. */
  async recall(): Promise<void> {
    try {
      this.observe(await this.deps.store.listIncidents());
    } catch (error) {
      this.deps.logger.warn('app-wide incidents could not be read', { error: describeError(error) });
    }
  }

  /** Waits for the ends under way (the app closes the store after this). */
  async settled(): Promise<void> {
    await Promise.all([...this.ending]);
  }

  private async end(kind: IncidentKind): Promise<void> {
    try {
      const ended = await this.deps.store.endIncident({ kind, now: this.deps.clock.now() });
      if (ended) this.deps.logger.info('incident ended', { incident: kind });
    } catch (error) {
      this.deps.logger.warn('the end of an app-wide incident could not be recorded', { incident: kind, error: describeError(error) });
    }
  }
}
