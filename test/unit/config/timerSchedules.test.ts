import { describe, expect, it } from 'vitest';
import { ncrontabSchema } from '../../../src/config/ncrontab.js';

const REFUSED = 'must be an NCRONTAB expression of six fields (seconds first), e.g. "0 30 3 * * *".';

/** The schema's verdict: the schedule it took, or its message. */
function verdict(schedule: string): string {
  const parsed = ncrontabSchema.safeParse(schedule);
  return parsed.success ? parsed.data : (parsed.error.issues[0]?.message ?? 'no message');
}

describe('NCRONTAB schedules, as the Functions timer trigger takes them', () => {
  it('refuses a schedule that is not six fields (five-field cron)', () => {
    expect(verdict('30 3 * * *')).toBe(REFUSED);
  });

  it('refuses a six-field schedule whose values the Functions host would not take (out of range, step 0, unknown names)', () => {
    for (const schedule of ['0 61 3 * * *', '60 30 3 * * *', '0 30 24 * * *', '0 30 3 0 * *', '0 30 3 * 13 *', '0 30 3 * * 7', '0 */0 * * * *', '0 30 3 * * FOO', '0 5-1 3 * * *']) {
      expect({ schedule, verdict: verdict(schedule) }).toEqual({ schedule, verdict: REFUSED });
    }
  });

  it('takes six-field schedules with ranges, lists, steps and month and day names', () => {
    for (const schedule of ['0 30 3 * * *', '0 */5 * * * *', '0 0 9-17 * * MON-FRI', '0 0 0 1,15 JAN,jul *', '30 15 2 28 2 0', '0 0 */2 * * 6']) {
      expect(verdict(schedule)).toBe(schedule);
    }
  });
});
