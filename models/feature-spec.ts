import { AccessFeatures } from '../schemas/types';

/**
 * Access features (computed by projections/, the one feature implementation) turned into the
 * numeric vector the access-risk model reads. Training, evaluation and the scorer all call
 * this, so they cannot drift apart.
 *
 * Besides the window's own fields, a pair carries a small memory across windows: how often it
 * asked for access at each hour of the day and of the week, and when it last did. That memory
 * is part of the pair's recurrent state (next to the GRU's hidden vector): it is updated from
 * the same AccessFeatures records, one window at a time, never from the future.
 */
export const SPEC_VERSION = 1;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface PairMemory {
  /** Windows seen and windows with a request, by hour of week (0 = Monday 00:00 UTC). */
  howSeen: number[];
  howHit: number[];
  hodSeen: number[];
  hodHit: number[];
  daysSeen: number;
  daysHit: number;
  lastDay: number | null;
  lastDayHit: boolean;
  lastRequestAt: number | null;
  windows: number;
}

export function newPairMemory(): PairMemory {
  return {
    howSeen: new Array(168).fill(0),
    howHit: new Array(168).fill(0),
    hodSeen: new Array(24).fill(0),
    hodHit: new Array(24).fill(0),
    daysSeen: 0,
    daysHit: 0,
    lastDay: null,
    lastDayHit: false,
    lastRequestAt: null,
    windows: 0,
  };
}

export function hourOfWeek(t: number): number {
  const d = new Date(t);
  return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours();
}

/** Smoothed request rate of an hour-of-week slot: a weak prior pulls empty slots towards zero. */
export function howRate(m: PairMemory, how: number): number {
  return (m.howHit[how] + 0.02) / (m.howSeen[how] + 1);
}

function hodRate(m: PairMemory, hod: number): number {
  return (m.hodHit[hod] + 0.02) / (m.hodSeen[hod] + 1);
}

/** P(at least one request in [t, t + hours)) if slots were independent at their rates. */
export function howProbability(m: PairMemory, t: number, hours: number): number {
  let none = 1;
  for (let k = 0; k < hours; k++) none *= 1 - howRate(m, hourOfWeek(t + k * HOUR));
  return 1 - none;
}

/** Folds one window into the memory (mutates it: the memory is per-key state). */
export function remember(m: PairMemory, f: AccessFeatures): void {
  const how = hourOfWeek(f.windowStart);
  const hit = f.accessRequests > 0 ? 1 : 0;
  m.howSeen[how]++;
  m.howHit[how] += hit;
  m.hodSeen[how % 24]++;
  m.hodHit[how % 24] += hit;
  const day = Math.floor(f.windowStart / DAY);
  if (m.lastDay !== day) {
    m.daysSeen++;
    m.lastDay = day;
    m.lastDayHit = false;
  }
  if (hit && !m.lastDayHit) {
    m.daysHit++;
    m.lastDayHit = true;
  }
  if (hit) m.lastRequestAt = f.windowEnd;
  m.windows++;
}

export function cloneMemory(m: PairMemory): PairMemory {
  return { ...m, howSeen: m.howSeen.slice(), howHit: m.howHit.slice(), hodSeen: m.hodSeen.slice(), hodHit: m.hodHit.slice() };
}

export const ACCESS_FEATURE_NAMES = [
  'accesses', 'successes', 'failures', 'accessRequests', 'connects', 'execs', 'disconnects',
  'userActiveHours', 'applications', 'logins', 'neverAccessed', 'minutesSinceLastAccess',
  'vmRunning', 'vmStopped', 'vmGone', 'vmOther', 'jobDueWithinHorizon',
  'hourSin', 'hourCos', 'dowSin', 'dowCos',
  'howRateNextHour', 'hodRateNextHour', 'howProb4h', 'howProb24h',
  'neverRequested', 'hoursSinceLastRequest', 'dayRate', 'history',
] as const;

const l1p = Math.log1p;

/**
 * The model input of one window, read after `remember` has folded that window in: everything
 * here is known at the window's end.
 */
export function accessVector(f: AccessFeatures, m: PairMemory): number[] {
  const a = f.actionCounts ?? {};
  const since = f.minutesSinceLastAccess;
  const next = f.windowEnd;
  const how = hourOfWeek(next);
  const vs = f.vmState;
  return [
    l1p(f.accesses),
    l1p(f.successes),
    l1p(f.failures),
    l1p(f.accessRequests),
    l1p(a.CONNECT ?? 0),
    l1p(a.EXEC ?? 0),
    l1p(a.DISCONNECT ?? 0),
    f.userActiveMinutes / 60,
    l1p(f.applications),
    l1p(f.logins),
    since === null ? 1 : 0,
    since === null ? 1 : l1p(since) / l1p(10_080),
    vs === 'RUNNING' ? 1 : 0,
    vs === 'STOPPED' ? 1 : 0,
    vs === 'ARCHIVED' || vs === 'DELETED' ? 1 : 0,
    vs === 'RUNNING' || vs === 'STOPPED' || vs === 'ARCHIVED' || vs === 'DELETED' ? 0 : 1,
    f.jobDueWithinHorizon ? 1 : 0,
    f.hourSin,
    f.hourCos,
    f.dowSin,
    f.dowCos,
    howRate(m, how),
    hodRate(m, how % 24),
    howProbability(m, next, 4),
    howProbability(m, next, 24),
    m.lastRequestAt === null ? 1 : 0,
    m.lastRequestAt === null ? 1 : Math.min(1, l1p((next - m.lastRequestAt) / HOUR) / l1p(336)),
    (m.daysHit + 0.1) / (m.daysSeen + 1),
    Math.min(1, l1p(m.windows) / l1p(2000)),
  ];
}

/** Per-feature standardisation fitted on the training vectors and saved with the model. */
export interface Scaler {
  mean: number[];
  std: number[];
}

export function fitScaler(rows: number[][]): Scaler {
  const n = rows.length || 1;
  const dim = rows[0]?.length ?? ACCESS_FEATURE_NAMES.length;
  const mean = new Array(dim).fill(0);
  const sq = new Array(dim).fill(0);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += r[j] / n;
  for (const r of rows) for (let j = 0; j < dim; j++) sq[j] += (r[j] - mean[j]) ** 2 / n;
  return { mean, std: sq.map((v) => Math.sqrt(v) || 1) };
}

export function scale(s: Scaler, v: number[]): number[] {
  return v.map((x, j) => (x - s.mean[j]) / s.std[j]);
}
