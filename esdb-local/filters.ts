/**
 * $all filters as subscribeToAll/readAll send them: on stream name or event type, by prefixes or
 * by a regular expression (searched anywhere in the name, like .NET Regex.IsMatch).
 */
export interface EventFilter {
  on: 'stream' | 'type';
  prefixes: string[];
  regex: RegExp | null;
}

export function makeFilter(on: EventFilter['on'], prefixes: string[], regex: string): EventFilter {
  if (regex) return { on, prefixes: [], regex: new RegExp(regex) };
  return { on, prefixes, regex: null };
}

export function filterMatches(filter: EventFilter, stream: string, type: string): boolean {
  const subject = filter.on === 'stream' ? stream : type;
  if (filter.regex) return filter.regex.test(subject);
  return filter.prefixes.some((p) => subject.startsWith(p));
}

/**
 * How many events a filtered subscription scans between checkpoints: EventStoreDB multiplies the
 * search window (max, default 32) by the checkpoint interval multiplier.
 */
export function checkpointEvery(maxSearchWindow: number | null, multiplier: number): number {
  const window = maxSearchWindow && maxSearchWindow > 0 ? maxSearchWindow : 32;
  return window * Math.max(1, multiplier);
}
