import { describe, expect, it } from 'vitest';
import type { Clock, IncidentStore, Logger } from '../../../src/credentials/index.js';
import { INCIDENT_WRITE_INTERVAL_MS, IncidentMonitor } from '../../../src/incidents/incidentMonitor.js';
import { openSqliteStore } from '../../../src/store/openStore.js';

/** The monitor over a real (in-memory SQLite) store, counting the writes it makes. */
async function monitored() {
  const store = await openSqliteStore(':memory:');
  let now = new Date('2026-12-01T00:00:00.000Z');
  const clock: Clock = { now: () => now };
  const writes: string[] = [];
  const counting: IncidentStore = {
    recordIncident: (r) => (writes.push(`record ${r.kind}`), store.recordIncident(r)),
    endIncident: (e) => (writes.push(`end ${e.kind}`), store.endIncident(e)),
    listIncidents: () => store.listIncidents(),
  };
  const lines: Array<[string, string]> = [];
  const logger: Logger = {
    info: (m) => lines.push(['info', m]),
    warn: (m) => lines.push(['warn', m]),
    error: (m) => lines.push(['error', m]),
  };
  const advance = (ms: number) => (now = new Date(now.getTime() + ms));
  return { store, writes, lines, advance, monitor: (() => new IncidentMonitor({ store: counting, clock, logger })) };
}

describe('the incident monitor', () => {
  it('opens an incident once for the fleet: one error line from the instance that opened it, the others only count', async () => {
    const t = await monitored();
    const a = t.monitor();
    const b = t.monitor();
    await a.report('lwa_client_rejected', 'invalid_client');
    await b.report('lwa_client_rejected', 'invalid_client');
    expect(t.lines.filter(([level]) => level === 'error')).toEqual([['error', expect.stringMatching(/^incident started: /)]]);
    expect((await t.store.listIncidents()).map((i) => [i.kind, i.seenCount, i.endedAt])).toEqual([['lwa_client_rejected', 2, null]]);
    await t.store.close();
  });

  it('writes a report at most once a minute per kind, and a success nothing unless an incident is believed open', async () => {
    const t = await monitored();
    const m = t.monitor();
    for (let i = 0; i < 100; i++) await m.resolved('lwa_client_rejected');
    expect(t.writes).toEqual([]);
    for (let i = 0; i < 100; i++) await m.report('lwa_client_rejected', 'invalid_client');
    expect(t.writes).toEqual(['record lwa_client_rejected']);
    t.advance(INCIDENT_WRITE_INTERVAL_MS);
    await m.report('lwa_client_rejected', 'invalid_client');
    expect(t.writes).toHaveLength(2);
    for (let i = 0; i < 100; i++) await m.resolved('lwa_client_rejected');
    expect(t.writes).toEqual(['record lwa_client_rejected', 'record lwa_client_rejected', 'end lwa_client_rejected']);
    await t.store.close();
  });

  it('ends an incident another instance opened once it has seen it open (a health probe, a sweep run)', async () => {
    const t = await monitored();
    const a = t.monitor();
    const b = t.monitor();
    await a.report('spapi_denied_for_all', 'HTTP 403');
    await b.resolved('spapi_denied_for_all');
    expect((await t.store.listIncidents())[0]?.endedAt).toBeNull();
    await b.recall();
    await b.resolved('spapi_denied_for_all');
    expect((await t.store.listIncidents())[0]?.endedAt).not.toBeNull();
    expect(t.lines).toContainEqual(['info', 'incident ended']);

    // An ended incident seen by a probe is no longer believed open.
    const c = t.monitor();
    c.observe(await t.store.listIncidents());
    await c.resolved('spapi_denied_for_all');
    expect(t.writes.filter((w) => w.startsWith('end'))).toHaveLength(1);
    await t.store.close();
  });

  it('never throws: a store that fails is a warning, and the caller goes on', async () => {
    const t = await monitored();
    await t.store.close();
    const m = t.monitor();
    await expect(m.report('lwa_client_rejected', null)).resolves.toBeUndefined();
    await expect(m.resolved('lwa_client_rejected')).resolves.toBeUndefined();
    await expect(m.recall()).resolves.toBeUndefined();
    expect(t.lines.map(([level]) => level)).toEqual(['warn', 'warn', 'warn']);
  });
});
