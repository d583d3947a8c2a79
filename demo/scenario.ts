import type { JsonlRecord, TelemetryTopic, VmAccess } from '../schemas/types';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** The simulator's default first midnight (a Monday); runs move on a week each. */
export const DEMO_EPOCH = Date.UTC(2026, 0, 5);

export interface DemoOptions {
  users: number;
  vms: number;
  networks: number;
  seed: number;
  /** Wall minutes of the live replay. */
  minutes: number;
  /** Simulated hours the live replay covers (from `fromHour` on the live day). */
  hours: number;
  fromHour: number;
  /** Simulated days replayed as fast as possible first, so every key has history. */
  warmupDays: number;
  /** This checkout's demo run number: a fresh namespace, fresh user ids, a later week. */
  run: number;
}

export interface ScenarioPlan {
  namespace: string;
  /** Users are `user-r<run>-NNNN`, so one run's credentials never meet another's. */
  userTag: string;
  simStart: number;
  simDays: number;
  liveStart: number;
  liveEnd: number;
  speedup: number;
}

/**
 * Pure: where the run's simulated time lies and how fast it goes. Each run is a week after the
 * previous one, so the event store (shared across runs) only ever sees time move forward.
 */
export function planScenario(o: DemoOptions): ScenarioPlan {
  const simStart = DEMO_EPOCH + o.run * WEEK;
  const liveStart = simStart + o.warmupDays * DAY + o.fromHour * HOUR;
  const liveEnd = liveStart + o.hours * HOUR;
  const simDays = Math.ceil((liveEnd - simStart) / DAY);
  return {
    namespace: `demo-r${o.run}`,
    userTag: `r${o.run}`,
    simStart,
    simDays,
    liveStart,
    liveEnd,
    speedup: (o.hours * HOUR) / (o.minutes * 60_000),
  };
}

const USER_ID = /^user-(\d+)$/;

export function remapUser(id: string, tag: string): string {
  const m = USER_ID.exec(id);
  return m ? `user-${tag}-${m[1]}` : id;
}

/** Pure: the record with every user id (key, userId, ownerId) moved to the run's users. */
export function remapRecord(r: JsonlRecord<TelemetryTopic>, tag: string): JsonlRecord<TelemetryTopic> {
  const v = { ...r.value } as Record<string, unknown>;
  for (const f of ['userId', 'ownerId']) if (typeof v[f] === 'string') v[f] = remapUser(v[f] as string, tag);
  return { ...r, key: remapUser(r.key, tag), value: v as unknown as JsonlRecord<TelemetryTopic>['value'] };
}

export interface AccessRequest {
  at: number;
  userId: string;
  vmId: string;
  /** The telemetry record's eventId: the request's correlation id end to end. */
  eventId: string;
}

export interface ScenarioRecords {
  warmup: JsonlRecord<TelemetryTopic>[];
  live: JsonlRecord<TelemetryTopic>[];
  /** Credential requests users make during the live replay, in time order. */
  requests: AccessRequest[];
}

/** Pure: splits the (time-ordered) simulation into warm-up, live and the users' requests. */
export function splitScenario(records: readonly JsonlRecord<TelemetryTopic>[], plan: ScenarioPlan): ScenarioRecords {
  const out: ScenarioRecords = { warmup: [], live: [], requests: [] };
  for (const raw of records) {
    const r = remapRecord(raw, plan.userTag);
    const ts = r.value.timestamp;
    if (ts < plan.liveStart) out.warmup.push(r);
    else if (ts < plan.liveEnd) {
      out.live.push(r);
      if (r.topic === 'telemetry.vm-access') {
        const a = r.value as VmAccess;
        if (a.action === 'ACCESS_REQUEST' && a.success) out.requests.push({ at: ts, userId: a.userId, vmId: a.vmId, eventId: a.eventId });
      }
    }
  }
  return out;
}
