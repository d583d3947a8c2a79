import { DAY, HOUR, MIN } from './time';

/**
 * The small cron subset the simulator writes: a fixed minute, a fixed hour or every n hours,
 * and every day or a set of weekdays (cron numbering, 0 = Sunday).
 */
export interface Cron {
  minute: number;
  hour: number | null;
  hourStep: number | null;
  /** Cron weekdays (0 = Sunday); null = every day. */
  dows: number[] | null;
}

export function cronString(c: Cron): string {
  const hour = c.hour !== null ? String(c.hour) : `*/${c.hourStep ?? 1}`;
  let dow = '*';
  if (c.dows) {
    const sorted = [...c.dows].sort((a, b) => a - b);
    const contiguous = sorted.length > 2 && sorted.every((d, i) => i === 0 || d === sorted[i - 1] + 1);
    dow = contiguous ? `${sorted[0]}-${sorted[sorted.length - 1]}` : sorted.join(',');
  }
  return `${c.minute} ${hour} * * ${dow}`;
}

function matchesHour(c: Cron, t: number): boolean {
  const d = new Date(t);
  const h = d.getUTCHours();
  if (c.hour !== null && h !== c.hour) return false;
  if (c.hour === null && h % (c.hourStep ?? 1) !== 0) return false;
  return !c.dows || c.dows.includes(d.getUTCDay());
}

/** First run strictly after `after`, searched over eight days; null when there is none. */
export function nextRun(c: Cron, after: number): number | null {
  let hourStart = Math.floor(after / HOUR) * HOUR;
  for (let i = 0; i <= (8 * DAY) / HOUR; i++, hourStart += HOUR) {
    const t = hourStart + c.minute * MIN;
    if (t > after && matchesHour(c, t)) return t;
  }
  return null;
}

/** Every run in [from, to). */
export function runsBetween(c: Cron, from: number, to: number): number[] {
  const out: number[] = [];
  let t = nextRun(c, from - 1);
  while (t !== null && t < to) {
    out.push(t);
    t = nextRun(c, t);
  }
  return out;
}
