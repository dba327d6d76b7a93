import type { IncidentRecord } from '../incidents.js';
import type { Region } from '../marketplaces.js';

/** What /api/health asks of storage. */
export interface HealthStore {
  /** A cheap round trip. */
  ping(): Promise<void>;

  /**
   * /api/health's one round trip: moves the heartbeat row (service_heartbeat, id 1) to `now` (a write, so a read-only
   * or write-refusing store shows), compares the schema with what this code needs, and returns a sample of stored
   * refresh-token envelopes (up to `sampleSize` newest and `sampleSize` oldest by lwa_refresh_token_date) for the
   * caller to try with its keys. A refused write or a schema behind is answered, not thrown; throws only when the
   * store does not answer at all.
   */
  checkHealth(probe: HealthProbe): Promise<StoreHealth>;
}

export interface HealthProbe {
  now: Date;
  /** 1-20: envelopes sampled from each end (newest, oldest). */
  sampleSize: number;
}

/** A stored refresh-token envelope and the row it is bound to (its associated data). */
export interface EnvelopeSample {
  customerId: string;
  /** The envelope is bound to the region (its associated data). */
  region: Region;
  envelope: string;
}

export interface StoreHealth {
  /** The latest incident of each kind (open or ended), read in the same round trip. */
  incidents: IncidentRecord[];
  /** Present when the heartbeat write failed: the driver's message, for the log only (never a value). */
  writeRefused?: string | undefined;
  /** Present when the schema is older than this code needs: what is missing and how to fix it. */
  schemaBehind?: string | undefined;
  samples: EnvelopeSample[];
}

/** Bounds a health probe's sample size (it is a number in a query's LIMIT/TOP). */
export function healthSampleSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 1 || size > 20) throw new Error('health sample size must be a whole number from 1 to 20');
  return size;
}
