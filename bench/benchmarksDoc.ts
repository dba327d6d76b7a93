/**
 * docs/benchmarks.md is shared by the bench scripts: each owns one section between its own start and end markers
 * (HTML comments), so a run replaces its section and leaves the others as they are.
 */
export interface SectionMarkers {
  start: string;
  end: string;
}

/** `existing` with the section between `markers` replaced by `text` (which includes both markers), or appended. */
export function withSection(existing: string, text: string, markers: SectionMarkers): string {
  const start = existing.indexOf(markers.start);
  const end = existing.indexOf(markers.end);
  if (start !== -1 && end > start) return existing.slice(0, start) + text + existing.slice(end + markers.end.length).replace(/^\n/, '');
  const base = existing.trimEnd();
  return base === '' ? text : `${base}\n\n${text}`;
}
