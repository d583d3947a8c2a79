import { Cron } from './cron';
import { Rng } from './rng';
import { DAY, HOUR, dayOfWeek } from './time';

/**
 * Who and what the simulator simulates: users with archetypes, VMs with lifecycles, scheduled
 * jobs, client networks with attacks. Built once from the seed; the generators only read it.
 */
export type Archetype = 'office' | 'shift' | 'oncall' | 'roamer' | 'batch';

export interface SimConfig {
  users: number;
  vms: number;
  networks: number;
  days: number;
  seed: number;
  /** Epoch ms of the first simulated midnight (UTC). */
  start: number;
  /** Length of one network measurement interval. */
  networkIntervalMs: number;
}

export interface SimUser {
  id: string;
  archetype: Archetype;
  /** Usual start of the working day, hours UTC (after drift: `startHourLate`). */
  startHour: number;
  startHourLate: number;
  dayHours: number;
  sessionsPerDay: number;
  /** VMs before and after the drift day, most used first. */
  vms: string[];
  vmsLate: string[];
  apps: string[];
  absentDays: Set<number>;
  shiftPhase: number;
  oncallPhase: number;
  oncallEvery: number;
}

export interface SimVm {
  id: string;
  createdAt: number;
  archivedAt: number | null;
  /** The VM that takes this one's users when it is archived. */
  replacedBy: string | null;
  maintenance: { from: number; to: number } | null;
  ownerId: string | null;
}

export interface JobSchedule {
  from: number;
  cron: Cron;
}

export interface SimJob {
  id: string;
  vmId: string;
  ownerId: string;
  schedules: JobSchedule[];
  /** Jobs on an archived VM end there. */
  until: number;
}

export type AttackKind = 'VOLUMETRIC' | 'BRUTE_FORCE';

export interface SimAttack {
  clientNetworkId: string;
  kind: AttackKind;
  /** Reconnaissance (port scans, probing handshakes) before the attack proper. */
  precursorStart: number;
  start: number;
  end: number;
  intensity: number;
}

export interface SimNetwork {
  id: string;
  baseOpsPerSec: number;
  /** Hour UTC of the daily peak: client networks sit in different time zones. */
  peakHour: number;
  weekendFactor: number;
  growthPerWeek: number;
  /** A nightly batch (e.g. statement signing) at this hour UTC, or none. */
  batchHour: number | null;
  batchFactor: number;
  attacks: SimAttack[];
}

export interface Population {
  config: SimConfig;
  end: number;
  driftAt: number;
  holidays: Set<number>;
  users: SimUser[];
  vms: SimVm[];
  jobs: SimJob[];
  networks: SimNetwork[];
}

const APPS = ['ide', 'browser', 'mail', 'terminal', 'db-console', 'monitoring', 'ticketing', 'office', 'chat'];
const ARCHETYPES: Archetype[] = ['office', 'office', 'shift', 'oncall', 'roamer', 'batch', 'office', 'roamer', 'oncall', 'batch'];

function pad(n: number): string {
  return String(n).padStart(3, '0');
}

function buildVms(cfg: SimConfig, rng: Rng, driftAt: number, end: number): SimVm[] {
  const nReplacement = cfg.vms >= 6 && cfg.days >= 7 ? Math.max(1, Math.floor(cfg.vms * 0.12)) : 0;
  const vms: SimVm[] = [];
  for (let i = 0; i < cfg.vms; i++) {
    const replacement = i >= cfg.vms - nReplacement;
    const createdAt = replacement ? driftAt - 2 * HOUR : cfg.start + rng.int(0, 30) * 60_000;
    let maintenance: SimVm['maintenance'] = null;
    if (!replacement && rng.chance(0.2) && cfg.days >= 3) {
      const from = cfg.start + rng.int(1, cfg.days - 2) * DAY + 20 * HOUR;
      maintenance = { from, to: from + rng.int(6, 30) * HOUR };
    }
    vms.push({ id: `vm-${pad(i + 1)}`, createdAt, archivedAt: null, replacedBy: null, maintenance, ownerId: null });
  }
  // The first VMs are retired at the drift point, their users moved to the replacements.
  for (let r = 0; r < nReplacement; r++) {
    const old = vms[r];
    old.archivedAt = Math.min(end - HOUR, driftAt + 12 * HOUR);
    old.replacedBy = vms[cfg.vms - nReplacement + r].id;
  }
  return vms;
}

function pickVms(rng: Rng, pool: string[], n: number): string[] {
  return rng.shuffle(pool).slice(0, Math.max(1, Math.min(n, pool.length)));
}

function buildUsers(cfg: SimConfig, rng: Rng, vms: SimVm[]): SimUser[] {
  const initial = vms.filter((v) => v.createdAt < cfg.start + DAY).map((v) => v.id);
  const replaceOf = new Map(vms.filter((v) => v.replacedBy).map((v) => [v.id, v.replacedBy as string]));
  const users: SimUser[] = [];
  for (let i = 0; i < cfg.users; i++) {
    const r = rng.fork(`user-${i}`);
    const archetype = ARCHETYPES[i % ARCHETYPES.length];
    const nVms = { office: r.int(1, 2), shift: r.int(1, 3), oncall: r.int(2, 4), roamer: r.int(4, 8), batch: r.int(1, 2) }[archetype];
    const mine = pickVms(r, initial, nVms);
    // Drift: archived VMs hand over to their replacements; some users change project.
    let late = mine.map((v) => replaceOf.get(v) ?? v);
    if (r.chance(0.25)) {
      const fresh = initial.filter((v) => !late.includes(v) && !replaceOf.has(v));
      if (fresh.length) late = [r.pick(fresh), ...late.slice(0, -1)].filter((v, k, a) => a.indexOf(v) === k);
    }
    const startHour = archetype === 'shift' ? 6 : r.uniform(6.5, 10);
    const absentDays = new Set<number>();
    if (archetype !== 'shift' && cfg.days >= 7) {
      for (let block = 0; block + 7 <= cfg.days; block += 14) {
        if (!r.chance(0.4)) continue;
        const from = block + r.int(0, 6);
        const len = r.int(2, 5);
        for (let d = from; d < from + len && d < cfg.days; d++) absentDays.add(d);
      }
    }
    users.push({
      id: `user-${pad(i + 1)}`,
      archetype,
      startHour,
      startHourLate: startHour + (r.chance(0.3) ? r.pick([-1, 1]) : 0),
      dayHours: r.uniform(7.5, 9.5),
      sessionsPerDay: { office: r.uniform(1.5, 3), shift: r.uniform(2, 4), oncall: r.uniform(1, 2.5), roamer: r.uniform(2.5, 4.5), batch: r.uniform(0.5, 1.5) }[archetype],
      vms: mine,
      vmsLate: late,
      apps: pickVms(r, APPS, r.int(2, 5)),
      absentDays,
      shiftPhase: r.int(0, 2),
      oncallPhase: r.int(0, 3),
      oncallEvery: r.int(2, 4),
    });
  }
  return users;
}

function randomCron(rng: Rng): Cron {
  switch (rng.int(0, 3)) {
    case 0:
      return { minute: rng.pick([0, 15, 30, 45]), hour: rng.int(1, 5), hourStep: null, dows: null };
    case 1:
      return { minute: rng.pick([0, 30]), hour: rng.int(5, 8), hourStep: null, dows: [1, 2, 3, 4, 5] };
    case 2:
      return { minute: rng.pick([5, 20, 40]), hour: null, hourStep: rng.pick([6, 8, 12]), dows: null };
    default:
      return { minute: 0, hour: rng.int(18, 23), hourStep: null, dows: [rng.int(0, 6)] };
  }
}

function buildJobs(cfg: SimConfig, rng: Rng, users: SimUser[], vms: SimVm[], driftAt: number, end: number): SimJob[] {
  const byId = new Map(vms.map((v) => [v.id, v]));
  const jobs: SimJob[] = [];
  let n = 0;
  for (const u of users) {
    const r = rng.fork(`jobs-${u.id}`);
    const count = u.archetype === 'batch' ? r.int(1, 2) : r.chance(0.1) ? 1 : 0;
    for (let k = 0; k < count; k++) {
      const vm = byId.get(r.pick(u.vms)) as SimVm;
      const schedules: JobSchedule[] = [{ from: cfg.start, cron: randomCron(r) }];
      if (r.chance(0.3) && driftAt < end) schedules.push({ from: driftAt, cron: randomCron(r) });
      const until = vm.archivedAt ?? end;
      jobs.push({ id: `job-${pad(++n)}`, vmId: vm.id, ownerId: u.id, schedules, until });
      if (vm.archivedAt && vm.replacedBy) {
        jobs.push({ id: `job-${pad(++n)}`, vmId: vm.replacedBy, ownerId: u.id, schedules: [{ from: vm.archivedAt, cron: schedules[schedules.length - 1].cron }], until: end });
      }
    }
  }
  return jobs;
}

function buildNetworks(cfg: SimConfig, rng: Rng, end: number): SimNetwork[] {
  const out: SimNetwork[] = [];
  for (let i = 0; i < cfg.networks; i++) {
    const r = rng.fork(`network-${i}`);
    const id = `net-${pad(i + 1)}`;
    const attacks: SimAttack[] = [];
    // Roughly one attack every five days, never in the first two days (the forecaster warms up).
    let t = cfg.start + 2 * DAY + r.exponential(5 * DAY);
    while (t < end - 6 * HOUR) {
      const kind: AttackKind = r.chance(0.5) ? 'VOLUMETRIC' : 'BRUTE_FORCE';
      const start = Math.floor(t / 60_000) * 60_000;
      const lead = r.uniform(20, 90) * 60_000;
      const dur = r.uniform(30, 180) * 60_000;
      attacks.push({ clientNetworkId: id, kind, precursorStart: start - lead, start, end: start + dur, intensity: r.uniform(3, 10) });
      t = start + dur + DAY + r.exponential(5 * DAY);
    }
    out.push({
      id,
      baseOpsPerSec: r.uniform(40, 400),
      peakHour: r.int(8, 18),
      weekendFactor: r.uniform(0.3, 0.7),
      growthPerWeek: r.uniform(0, 0.08),
      batchHour: r.chance(0.5) ? r.int(0, 4) : null,
      batchFactor: r.uniform(1.5, 3),
      attacks,
    });
  }
  return out;
}

export function buildPopulation(cfg: SimConfig): Population {
  const rng = new Rng(cfg.seed);
  const end = cfg.start + cfg.days * DAY;
  const driftAt = cfg.start + Math.floor(cfg.days * 0.55) * DAY;
  const holidays = new Set<number>();
  const hr = rng.fork('holidays');
  for (let block = 0; block + 10 <= cfg.days; block += 15) {
    const d = block + hr.int(1, 9);
    if (dayOfWeek(cfg.start + d * DAY) < 5) holidays.add(d);
  }
  const vms = buildVms(cfg, rng.fork('vms'), driftAt, end);
  const users = buildUsers(cfg, rng.fork('users'), vms);
  for (const v of vms) v.ownerId = users.find((u) => u.vms.includes(v.id) || u.vmsLate.includes(v.id))?.id ?? null;
  const jobs = buildJobs(cfg, rng.fork('jobs'), users, vms, driftAt, end);
  const networks = buildNetworks(cfg, rng.fork('networks'), end);
  return { config: cfg, end, driftAt, holidays, users, vms, jobs, networks };
}

export function vmRunning(vm: SimVm, t: number): boolean {
  if (t < vm.createdAt + 5 * 60_000) return false;
  if (vm.archivedAt !== null && t >= vm.archivedAt) return false;
  return !(vm.maintenance && t >= vm.maintenance.from && t < vm.maintenance.to);
}
