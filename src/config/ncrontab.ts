import { z } from 'zod';

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldRange {
  min: number;
  max: number;
  names?: readonly string[];
}

/** Second, minute, hour, day, month, day of week: NCrontab's ranges (what the Functions host parses the schedule with). */
const NCRONTAB_FIELDS: readonly FieldRange[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 6, names: DAY_NAMES },
];

/** An NCRONTAB schedule as the values each field allows: second, minute, hour, day, month, day of week. */
export interface NcrontabSchedule {
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly weekdays: ReadonlySet<number>;
}

/**
 * Six fields, each a list of `*`, `n` or `n-m` with an optional `/step` (`n/step`: from n to the field's end), values
 * within the field's range (names for months and days); undefined when the host could not parse it (such a value would
 * keep the CredentialSweep function from loading at all).
 */
export function parseNcrontab(expression: string): NcrontabSchedule | undefined {
  const fields = expression.split(' ');
  if (fields.length !== NCRONTAB_FIELDS.length) return undefined;
  const sets: Array<Set<number>> = [];
  for (const [i, field] of fields.entries()) {
    const values = ncrontabField(field, NCRONTAB_FIELDS[i]);
    if (values === undefined) return undefined;
    sets.push(values);
  }
  const [seconds, minutes, hours, days, months, weekdays] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  return { seconds, minutes, hours, days, months, weekdays };
}

export function isNcrontab(expression: string): boolean {
  return parseNcrontab(expression) !== undefined;
}

/** NCRONTAB as the Functions timer trigger takes it: six fields, seconds first. */
export const ncrontabSchema = z.string().refine(isNcrontab, 'must be an NCRONTAB expression of six fields (seconds first), e.g. "0 30 3 * * *".');

/** How far ahead nextOccurrence looks: a schedule with no time within it (`0 0 0 31 2 *`) never runs. */
const HORIZON_MS = 5 * 366 * 86_400_000;

/**
 * The first time after `after` (whole seconds, UTC, as the Functions host reads a schedule without WEBSITE_TIME_ZONE)
 * that the schedule names, or undefined when none comes within five years. A day must match both the day of the
 * month and the day of the week. Walks from the largest unit down, jumping a whole month, day, hour or minute at a
 * time, so a yearly schedule costs a few hundred steps, not a second per second.
 */
export function nextOccurrence(schedule: NcrontabSchedule, after: Date): Date | undefined {
  const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
  const horizon = after.getTime() + HORIZON_MS;
  while (t.getTime() <= horizon) {
    if (!schedule.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!schedule.days.has(t.getUTCDate()) || !schedule.weekdays.has(t.getUTCDay())) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
    } else if (!schedule.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
    } else if (!schedule.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
    } else if (!schedule.seconds.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
    } else {
      return t;
    }
  }
  return undefined;
}

function ncrontabField(field: string, range: FieldRange | undefined): Set<number> | undefined {
  if (range === undefined) return undefined;
  const value = (text: string): number | undefined => {
    if (/^\d{1,2}$/.test(text)) return Number(text);
    const named = range.names?.indexOf(text.toUpperCase()) ?? -1;
    return named < 0 ? undefined : named + range.min;
  };
  const inRange = (n: number | undefined): n is number => n !== undefined && n >= range.min && n <= range.max;
  const values = new Set<number>();
  for (const item of field.split(',')) {
    const match = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/(\d{1,2}))?$/.exec(item);
    if (match?.[1] === undefined) return undefined;
    const step = match[2] === undefined ? 1 : Number(match[2]);
    if (step < 1) return undefined;
    let from = range.min;
    let to = range.max;
    if (match[1] !== '*') {
      const [first, last] = match[1].split('-').map(value);
      if (!inRange(first)) return undefined;
      from = first;
      if (match[1].includes('-')) {
        if (!inRange(last) || first > last) return undefined;
        to = last;
      } else if (match[2] === undefined) {
        to = first;
      }
    }
    for (let n = from; n <= to; n += step) values.add(n);
  }
  return values;
}
