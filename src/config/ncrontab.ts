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

/**
 * Six fields, each a list of `*`, `n` or `n-m` with an optional `/step`, values within the field's range (names for
 * months and days). A value the host cannot parse would keep the CredentialSweep function from loading at all.
 */
export function isNcrontab(expression: string): boolean {
  const fields = expression.split(' ');
  return fields.length === NCRONTAB_FIELDS.length && fields.every((field, i) => ncrontabField(field, NCRONTAB_FIELDS[i]));
}

/** NCRONTAB as the Functions timer trigger takes it: six fields, seconds first. */
export const ncrontabSchema = z.string().refine(isNcrontab, 'must be an NCRONTAB expression of six fields (seconds first), e.g. "0 30 3 * * *".');

function ncrontabField(field: string, range: FieldRange | undefined): boolean {
  if (range === undefined) return false;
  const value = (text: string): number | undefined => {
    if (/^\d{1,2}$/.test(text)) return Number(text);
    const named = range.names?.indexOf(text.toUpperCase()) ?? -1;
    return named < 0 ? undefined : named + range.min;
  };
  const inRange = (n: number | undefined): n is number => n !== undefined && n >= range.min && n <= range.max;
  return field.split(',').every((item) => {
    const match = /^(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/(\d{1,2}))?$/.exec(item);
    if (match?.[1] === undefined) return false;
    if (match[2] !== undefined && Number(match[2]) < 1) return false;
    if (match[1] === '*') return true;
    const [from, to] = match[1].split('-').map(value);
    if (!inRange(from)) return false;
    return to === undefined ? !match[1].includes('-') : inRange(to) && from <= to;
  });
}
