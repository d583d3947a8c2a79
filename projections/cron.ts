/**
 * Just enough cron (5 fields, UTC: minute hour day-of-month month day-of-week) to ask "does this
 * schedule fire in [from, to)?" when a job's recorded nextRunAt has already passed. Supports
 * `*`, numbers, ranges `a-b`, lists `a,b` and steps `*\/n`, `a-b/n`; day-of-week 0 or 7 = Sunday.
 * When both day fields are restricted, either matching fires (as in Vixie cron).
 */
interface Cron {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  domAny: boolean;
  dowAny: boolean;
}

function field(src: string, lo: number, hi: number): Set<number> | null {
  const out = new Set<number>();
  for (const part of src.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) return null;
    const step = m[4] === undefined ? 1 : Number(m[4]);
    const a = m[1] === '*' ? lo : Number(m[2]);
    const b = m[1] === '*' ? hi : m[3] === undefined ? (m[4] === undefined ? a : hi) : Number(m[3]);
    if (step < 1 || a < lo || b > hi || a > b) return null;
    for (let v = a; v <= b; v += step) out.add(v);
  }
  return out;
}

/** Parses a cron expression; null when it is not one (e.g. 'once'). */
export function parseCron(expr: string): Cron | null {
  const f = expr.trim().split(/\s+/);
  if (f.length !== 5) return null;
  const minute = field(f[0], 0, 59);
  const hour = field(f[1], 0, 23);
  const dom = field(f[2], 1, 31);
  const month = field(f[3], 1, 12);
  const dow0 = field(f[4], 0, 7);
  if (!minute || !hour || !dom || !month || !dow0) return null;
  const dow = new Set([...dow0].map((d) => d % 7));
  return { minute, hour, dom, month, dow, domAny: f[2].startsWith('*'), dowAny: f[4].startsWith('*') };
}

function dayMatches(c: Cron, d: Date): boolean {
  const domOk = c.dom.has(d.getUTCDate());
  const dowOk = c.dow.has(d.getUTCDay());
  if (c.domAny && c.dowAny) return true;
  if (c.domAny) return dowOk;
  if (c.dowAny) return domOk;
  return domOk || dowOk;
}

const MIN = 60_000;

/** The first firing time in [from, to), or null. Skips whole months, days and hours that cannot match. */
export function nextFiring(expr: string, from: number, to: number): number | null {
  const c = parseCron(expr);
  if (!c) return null;
  let t = Math.ceil(from / MIN) * MIN;
  while (t < to) {
    const d = new Date(t);
    if (!c.month.has(d.getUTCMonth() + 1)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    } else if (!dayMatches(c, d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
    } else if (!c.hour.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1);
    } else if (!c.minute.has(d.getUTCMinutes())) {
      t += MIN;
    } else {
      return t;
    }
  }
  return null;
}
