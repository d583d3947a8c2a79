/**
 * Access features per (userId, vmId) per window. The engine key is the userId (the partition key
 * of both vm-access and user-activity, which are co-partitioned), so one user's window holds the
 * per-VM access counts and the user-level activity that every one of its pairs shares.
 * vm-state and scheduled-jobs are global tables (projections/tables.ts), looked up at window end.
 */
import type { AccessFeatures, UserActivity, VmAccess } from '../schemas/types';
import { assertNever } from '../core/event';
import { cyclicalTime, FEATURE_VERSION, PAIR_ACTIVE_TTL_MS, type Window } from './spec';
import type { Aggregation } from './window';
import type { JobTable, VmStateTable } from './tables';

export type AccessInput =
  | { topic: 'telemetry.vm-access'; value: VmAccess }
  | { topic: 'telemetry.user-activity'; value: UserActivity };

interface PairAcc {
  accesses: number;
  successes: number;
  failures: number;
  accessRequests: number;
  actions: Record<string, number>;
  lastAccess: number;
}

/** One user's window. Active minutes are a bitmap (32 minutes per number) to keep state small. */
export interface UserWindowAcc {
  pairs: Record<string, PairAcc>;
  activeMinutes: number[];
  apps: string[];
  logins: number;
}

/** Carried across windows: each pair's last access as of the previous window end. */
export interface UserCarry {
  lastAccess: Record<string, number>;
}

export interface AccessContext {
  vmState: VmStateTable;
  jobs: JobTable;
  horizonMs: number;
  pairTtlMs?: number;
}

const MINUTE = 60_000;

function markMinutes(acc: UserWindowAcc, w: Window, from: number, to: number): void {
  const first = Math.max(0, Math.floor((from - w.start) / MINUTE));
  const last = Math.min(Math.ceil((w.end - w.start) / MINUTE) - 1, Math.ceil((Math.min(to, w.end) - w.start) / MINUTE) - 1);
  for (let m = first; m <= last; m++) {
    const i = m >> 5;
    while (acc.activeMinutes.length <= i) acc.activeMinutes.push(0);
    acc.activeMinutes[i] |= 1 << (m & 31);
  }
}

function popcount(words: number[]): number {
  let n = 0;
  for (let x of words) {
    x = x - ((x >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    n += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
  }
  return n;
}

export function accessEventId(userId: string, vmId: string, windowStart: number): string {
  return `access/${encodeURIComponent(userId)}/${encodeURIComponent(vmId)}/${windowStart}`;
}

export function accessAggregation(): Aggregation<AccessInput, UserWindowAcc, UserCarry, AccessFeatures, AccessContext> {
  return {
    key: (r) => r.value.userId,
    eventId: (r) => r.value.eventId,
    eventTime: (r) => r.value.timestamp,
    empty: () => ({ pairs: {}, activeMinutes: [], apps: [], logins: 0 }),
    add(acc, r, w) {
      switch (r.topic) {
        case 'telemetry.vm-access': {
          const v = r.value;
          const p = (acc.pairs[v.vmId] ??= { accesses: 0, successes: 0, failures: 0, accessRequests: 0, actions: {}, lastAccess: v.timestamp });
          p.accesses++;
          if (v.success) p.successes++;
          else p.failures++;
          if (v.action === 'ACCESS_REQUEST') p.accessRequests++;
          p.actions[v.action] = (p.actions[v.action] ?? 0) + 1;
          if (v.timestamp > p.lastAccess) p.lastAccess = v.timestamp;
          markMinutes(acc, w, v.timestamp, v.timestamp + 1);
          return acc;
        }
        case 'telemetry.user-activity': {
          const v = r.value;
          switch (v.activity) {
            case 'LOGIN':
              acc.logins++;
              markMinutes(acc, w, v.timestamp, v.timestamp + 1);
              break;
            case 'APP_USE':
              if (v.application !== null && !acc.apps.includes(v.application)) acc.apps.push(v.application);
              markMinutes(acc, w, v.timestamp, v.timestamp + Math.max(1, v.durationMs ?? 1));
              break;
            case 'ACTIVE':
            case 'OTHER':
              markMinutes(acc, w, v.timestamp, v.timestamp + Math.max(1, v.durationMs ?? 1));
              break;
            case 'IDLE':
            case 'LOGOUT':
              break;
            default:
              assertNever(v.activity, 'activity');
          }
          return acc;
        }
        default:
          return assertNever(r, 'access input');
      }
    },
    close(userId, w, acc, carry, ctx) {
      const ttl = ctx.pairTtlMs ?? PAIR_ACTIVE_TTL_MS;
      let last = carry?.lastAccess ?? {};
      if (acc && Object.keys(acc.pairs).length) {
        last = { ...last };
        for (const [vmId, p] of Object.entries(acc.pairs)) last[vmId] = Math.max(last[vmId] ?? -Infinity, p.lastAccess);
      }
      const time = cyclicalTime(w.end);
      const out: AccessFeatures[] = [];
      // A pair is carried while it still emits; it is dropped at the first window past its TTL.
      const next: Record<string, number> = {};
      let carried = 0;
      for (const vmId of Object.keys(last).sort()) {
        const within = w.end - last[vmId] <= ttl;
        if (within || acc?.pairs[vmId] !== undefined) out.push(features(userId, vmId, w, acc, last[vmId], ctx, time));
        if (within) {
          next[vmId] = last[vmId];
          carried++;
        }
      }
      return { out, carry: carried ? { lastAccess: next } : undefined };
    },
    preview(userId, w, acc, carry, ctx) {
      return this.close(userId, w, acc, carry, ctx).out;
    },
  };
}

function features(
  userId: string,
  vmId: string,
  w: Window,
  acc: UserWindowAcc | undefined,
  lastAccess: number,
  ctx: AccessContext,
  time: ReturnType<typeof cyclicalTime>,
): AccessFeatures {
  const p = acc?.pairs[vmId];
  return {
    eventId: accessEventId(userId, vmId, w.start),
    timestamp: w.end,
    userId,
    vmId,
    windowStart: w.start,
    windowEnd: w.end,
    featureVersion: FEATURE_VERSION,
    accesses: p?.accesses ?? 0,
    successes: p?.successes ?? 0,
    failures: p?.failures ?? 0,
    accessRequests: p?.accessRequests ?? 0,
    actionCounts: p ? sortedCounts(p.actions) : {},
    userActiveMinutes: acc ? popcount(acc.activeMinutes) : 0,
    applications: acc?.apps.length ?? 0,
    logins: acc?.logins ?? 0,
    minutesSinceLastAccess: (w.end - lastAccess) / MINUTE,
    vmState: ctx.vmState.stateAt(vmId, w.end),
    jobDueWithinHorizon: ctx.jobs.dueWithin(userId, vmId, w.end, w.end + ctx.horizonMs),
    ...time,
  };
}

function sortedCounts(c: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1)));
}
