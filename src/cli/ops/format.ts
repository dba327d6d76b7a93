/** A date as its UTC day, `2026-03-02`. */
export const day = (d: Date | null): string | null => (d === null ? null : d.toISOString().slice(0, 10));
/** A time as UTC `2026-03-02 10:00:00`. */
export const time = (d: Date): string => `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)}`;

export function truncate(value: string | null, width: number): string | null {
  if (value === null) return null;
  const chars = [...value];
  return chars.length <= width ? value : `${chars.slice(0, width - 1).join('')}…`;
}

/** One line per row: control characters (a newline in a customer id or an error) cannot break the table. */
const cell = (value: string | null): string => (value === null || value === '' ? '-' : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?'));
const width = (text: string): number => [...text].length;

/** Aligned plain-text columns, two spaces apart; the columns in `right` are right-aligned (numbers). */
export function table(header: string[], rows: (string | null)[][], right: ReadonlySet<number> = new Set()): string[] {
  const cells = [header, ...rows.map((row) => row.map(cell))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => width(row[i] ?? ''))));
  const pad = (text: string, i: number): string => {
    const gap = ' '.repeat((widths[i] ?? 0) - width(text));
    return right.has(i) ? gap + text : text + gap;
  };
  const line = (row: string[]): string => row.map((text, i) => pad(text, i)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)];
}
