import { Population, SimUser, SimVm, vmRunning } from './population';
import { Rng } from './rng';
import { Sink } from './sink';
import { DAY, HOUR, MIN, dayOfWeek } from './time';

/**
 * People: working days shaped by archetype (office hours, rotating shifts, on-call weeks with
 * incident bursts, roaming over many VMs), holidays and absences, and a drift point after which
 * some change VMs or hours. Every VM session starts with an ACCESS_REQUEST: the predicted event.
 */
const SHIFTS = [6, 14, 22];

interface Ctx {
  pop: Population;
  sink: Sink;
  vmById: Map<string, SimVm>;
}

function vmsAt(u: SimUser, t: number, pop: Population): string[] {
  return t >= pop.driftAt ? u.vmsLate : u.vms;
}

function vmSession(ctx: Ctx, r: Rng, u: SimUser, vmId: string, t: number, end: number, source: string): void {
  const { sink } = ctx;
  const vm = ctx.vmById.get(vmId);
  const running = vm ? vmRunning(vm, t) : false;
  const access = (ts: number, action: 'ACCESS_REQUEST' | 'CONNECT' | 'DISCONNECT' | 'EXEC' | 'FILE_TRANSFER' | 'ADMIN', success = true) =>
    sink.add('telemetry.vm-access', u.id, { timestamp: Math.round(ts), userId: u.id, vmId, action, success, source });
  if (!running) {
    access(t, 'ACCESS_REQUEST', false);
    return;
  }
  let at = t;
  if (r.chance(0.03)) {
    access(at, 'ACCESS_REQUEST', false);
    at += r.uniform(1, 4) * MIN;
  }
  access(at, 'ACCESS_REQUEST');
  const connect = at + r.uniform(0.5, 3) * MIN;
  const stop = Math.max(connect + 2 * MIN, Math.min(end, connect + (10 + r.exponential(40)) * MIN));
  if (r.chance(0.02)) {
    access(connect, 'CONNECT', false);
    return;
  }
  access(connect, 'CONNECT');
  const execs = r.poisson(3);
  for (let i = 0; i < execs; i++) access(r.uniform(connect, stop), 'EXEC');
  if (r.chance(0.3)) access(r.uniform(connect, stop), 'FILE_TRANSFER');
  if (r.chance(0.05)) access(r.uniform(connect, stop), 'ADMIN');
  access(stop, 'DISCONNECT');
}

function workBlock(ctx: Ctx, r: Rng, u: SimUser, from: number, to: number, pickVm: () => string, sessions: number): void {
  const { sink } = ctx;
  sink.add('telemetry.user-activity', u.id, { timestamp: Math.round(from), userId: u.id, activity: 'LOGIN', application: null, durationMs: null });
  for (let t = from + r.exponential(10) * MIN; t < to; t += (5 + r.exponential(45)) * MIN) {
    const dur = Math.round(r.uniform(5, 50) * MIN);
    sink.add('telemetry.user-activity', u.id, { timestamp: Math.round(t), userId: u.id, activity: 'APP_USE', application: r.pick(u.apps), durationMs: dur });
  }
  if (to - from > 6 * HOUR) {
    const lunch = from + r.uniform(3.5, 4.5) * HOUR;
    const dur = Math.round(r.uniform(30, 60) * MIN);
    sink.add('telemetry.user-activity', u.id, { timestamp: Math.round(lunch), userId: u.id, activity: 'IDLE', application: null, durationMs: dur });
    sink.add('telemetry.user-activity', u.id, { timestamp: Math.round(lunch + dur), userId: u.id, activity: 'ACTIVE', application: null, durationMs: null });
  }
  // The first session follows the login closely; the rest spread over the day.
  let t = from + (5 + r.exponential(25)) * MIN;
  for (let i = 0; i < sessions && t < to - 10 * MIN; i++) {
    vmSession(ctx, r, u, pickVm(), t, to, r.chance(0.8) ? 'bastion-1' : 'vpn');
    t += (20 + r.exponential((to - from) / MIN / (sessions + 1))) * MIN;
  }
  sink.add('telemetry.user-activity', u.id, { timestamp: Math.round(to), userId: u.id, activity: 'LOGOUT', application: null, durationMs: Math.round(to - from) });
}

function weightedPick(r: Rng, vms: string[]): string {
  return vms[r.weighted(vms.map((_, i) => 1 / (1 + 2.5 * i)))];
}

function incidents(ctx: Ctx, r: Rng, u: SimUser, dayStart: number): void {
  let n = r.poisson(1.2);
  for (let i = 0; i < n && i < 6; i++) {
    const at = dayStart + r.uniform(0, 24) * HOUR;
    const vms = vmsAt(u, at, ctx.pop);
    ctx.sink.add('telemetry.user-activity', u.id, { timestamp: Math.round(at), userId: u.id, activity: 'LOGIN', application: null, durationMs: null });
    let t = at + r.uniform(2, 15) * MIN;
    const bursts = r.int(2, 4);
    const target = r.pick(vms);
    for (let k = 0; k < bursts; k++) {
      vmSession(ctx, r, u, r.chance(0.75) ? target : r.pick(vms), t, t + 40 * MIN, 'vpn');
      t += r.uniform(20, 70) * MIN;
    }
    if (r.chance(0.35)) n++; // an incident often brings a follow-up
  }
}

export function simulateUsers(pop: Population, sink: Sink): void {
  const ctx: Ctx = { pop, sink, vmById: new Map(pop.vms.map((v) => [v.id, v])) };
  const { start, days } = pop.config;
  for (const u of pop.users) {
    const r = new Rng(pop.config.seed).fork(`days-${u.id}`);
    let focus = u.vms[0];
    for (let d = 0; d < days; d++) {
      const dayStart = start + d * DAY;
      const dow = dayOfWeek(dayStart);
      const week = Math.floor(d / 7);
      const late = dayStart >= pop.driftAt;
      const vms = vmsAt(u, dayStart + 12 * HOUR, pop);
      if (!vms.includes(focus) || r.chance(0.3)) focus = r.pick(vms);
      const noise = () => {
        if (r.chance(0.04)) vmSession(ctx, r, u, r.pick(pop.vms).id, dayStart + r.uniform(0, 24) * HOUR, dayStart + DAY, 'vpn');
      };
      if (u.archetype === 'shift') {
        // A five-day week; the shift rotates weekly, so last week's hours mislead.
        if (dow >= 5) continue;
        const from = dayStart + (SHIFTS[(week + u.shiftPhase) % 3] + r.normal(0, 0.25)) * HOUR;
        workBlock(ctx, r, u, from, from + r.uniform(7.5, 8.5) * HOUR, () => weightedPick(r, vms), r.poisson(u.sessionsPerDay) + 1);
        noise();
        continue;
      }
      if (u.archetype === 'oncall' && (week + u.oncallPhase) % u.oncallEvery === 0) incidents(ctx, r, u, dayStart);
      const away = dow >= 5 || pop.holidays.has(d) || u.absentDays.has(d);
      if (away) continue;
      const from = dayStart + ((late ? u.startHourLate : u.startHour) + r.normal(0, 0.4)) * HOUR;
      const to = from + (u.dayHours + r.normal(0, 0.5)) * HOUR;
      const sessions = r.poisson(u.sessionsPerDay) + (u.archetype === 'batch' ? 0 : 1);
      const pick = u.archetype === 'roamer' ? () => (r.chance(0.8) ? focus : r.pick(vms)) : () => weightedPick(r, vms);
      workBlock(ctx, r, u, from, to, pick, sessions);
      noise();
    }
  }
}
