import { describe, expect, it } from 'vitest';
import { nextOccurrence, parseNcrontab } from '../../../src/config/ncrontab.js';

/** The next time a schedule names, as the local host's timers (jobs/scheduler.ts) wait for it: UTC, whole seconds. */
function next(schedule: string, after: string): string | undefined {
  const parsed = parseNcrontab(schedule);
  if (parsed === undefined) throw new Error(`not NCRONTAB: ${schedule}`);
  return nextOccurrence(parsed, new Date(after))?.toISOString();
}

describe('nextOccurrence of an NCRONTAB schedule', () => {
  it('EventDelivery every minute: the next whole minute, strictly after', () => {
    expect(next('0 */1 * * * *', '2026-03-01T10:15:30.500Z')).toBe('2026-03-01T10:16:00.000Z');
    expect(next('0 */1 * * * *', '2026-03-01T10:16:00.000Z')).toBe('2026-03-01T10:17:00.000Z');
  });

  it('the sweep default, daily at 03:30 UTC: today when before, else tomorrow, across a month and a year end', () => {
    expect(next('0 30 3 * * *', '2026-03-01T03:29:59.999Z')).toBe('2026-03-01T03:30:00.000Z');
    expect(next('0 30 3 * * *', '2026-03-01T03:30:00.000Z')).toBe('2026-03-02T03:30:00.000Z');
    expect(next('0 30 3 * * *', '2026-12-31T04:00:00.000Z')).toBe('2027-01-01T03:30:00.000Z');
  });

  it('seconds, steps from a start, ranges, lists and names', () => {
    expect(next('*/15 * * * * *', '2026-03-01T10:00:14.000Z')).toBe('2026-03-01T10:00:15.000Z');
    expect(next('5/20 * * * * *', '2026-03-01T10:00:26.000Z')).toBe('2026-03-01T10:00:45.000Z');
    expect(next('0 0 9-17 * * MON-FRI', '2026-03-06T17:00:00.000Z')).toBe('2026-03-09T09:00:00.000Z'); // Friday evening → Monday
    expect(next('0 0 0 1,15 JAN,jul *', '2026-01-15T00:00:01.000Z')).toBe('2026-07-01T00:00:00.000Z');
  });

  it('a day must match both the day of the month and the day of the week (Friday the 13th)', () => {
    expect(next('0 0 12 13 * FRI', '2026-01-01T00:00:00.000Z')).toBe('2026-02-13T12:00:00.000Z');
  });

  it('29 February waits for a leap year; a day no month has never comes', () => {
    expect(next('0 0 0 29 2 *', '2026-03-01T00:00:00.000Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('0 0 0 31 2 *', '2026-03-01T00:00:00.000Z')).toBeUndefined();
  });
});
