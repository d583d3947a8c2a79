import { assertNever } from '../core/event';
import type { Topic, TopicRecords } from '../schemas';

/**
 * Semantic checks the Avro schema cannot express: ids present, event time plausible,
 * probabilities in 0..1, counts not negative. Pure: `now` (epoch ms) is passed in. A record that
 * fails goes to `<topic>.dlq` with reason `invalid` and these problems as detail.
 */
export const EARLIEST_PLAUSIBLE = Date.UTC(2000, 0, 1);
export const MAX_FUTURE_SKEW_MS = 24 * 3600 * 1000;
/** No record of any topic comes near this (the largest, features, are under 1 KiB). */
export const MAX_VALUE_BYTES = 64 * 1024;

type Check = (problems: string[]) => void;

const id = (name: string, v: unknown): Check => (p) => {
  if (typeof v !== 'string' || v.trim() === '') p.push(`${name} is empty`);
};
const time = (name: string, v: unknown, now: number, optional = false): Check => (p) => {
  if (optional && (v === null || v === undefined)) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) p.push(`${name} is not epoch milliseconds`);
  else if (v < EARLIEST_PLAUSIBLE || v > now + MAX_FUTURE_SKEW_MS) p.push(`${name} ${Math.abs(v) <= 8.64e15 ? new Date(v).toISOString() : v} is implausible (before 2000 or more than a day ahead)`);
};
const prob = (name: string, v: unknown): Check => (p) => {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) p.push(`${name} ${v} is not a probability in 0..1`);
};
const nonNeg = (names: string[], rec: Record<string, unknown>): Check => (p) => {
  for (const n of names) {
    const v = rec[n];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) p.push(`${n} ${v} is negative or not finite`);
  }
};
const finite = (names: string[], rec: Record<string, unknown>): Check => (p) => {
  for (const n of names) if (typeof rec[n] !== 'number' || !Number.isFinite(rec[n])) p.push(`${n} is not finite`);
};
const window = (start: number, end: number): Check => (p) => {
  if (!(start < end)) p.push(`windowStart ${start} is not before windowEnd ${end}`);
};

function checksFor(topic: Topic, v: TopicRecords[Topic], now: number): Check[] {
  const base = [id('eventId', v.eventId), time('timestamp', v.timestamp, now)];
  const r = v as unknown as Record<string, unknown>;
  switch (topic) {
    case 'telemetry.vm-access': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('userId', x.userId), id('vmId', x.vmId)];
    }
    case 'telemetry.user-activity': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('userId', x.userId), (p) => x.durationMs !== null && x.durationMs < 0 && p.push('durationMs is negative')];
    }
    case 'telemetry.vm-state':
      return [...base, id('vmId', (v as TopicRecords[typeof topic]).vmId)];
    case 'telemetry.scheduled-jobs': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('vmId', x.vmId), id('jobId', x.jobId), id('ownerId', x.ownerId), id('schedule', x.schedule), time('nextRunAt', x.nextRunAt, now + 366 * 24 * 3600 * 1000, true)];
    }
    case 'telemetry.network': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('clientNetworkId', x.clientNetworkId), nonNeg(['intervalMs', 'bytesIn', 'bytesOut', 'packets', 'flows', 'cryptoOps', 'tlsHandshakes'], r)];
    }
    case 'features.access': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('userId', x.userId), id('vmId', x.vmId), window(x.windowStart, x.windowEnd), nonNeg(['accesses', 'successes', 'failures', 'accessRequests', 'userActiveMinutes', 'applications', 'logins'], r), finite(['hourSin', 'hourCos', 'dowSin', 'dowCos'], r)];
    }
    case 'features.network': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('clientNetworkId', x.clientNetworkId), window(x.windowStart, x.windowEnd), nonNeg(['bytesIn', 'bytesOut', 'packets', 'flows', 'cryptoOps', 'cryptoOpsRate', 'cryptoOpsPeak', 'tlsHandshakes', 'threatIndicatorCount'], r)];
    }
    case 'risk.access': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('userId', x.userId), id('vmId', x.vmId), id('horizon', x.horizon), id('modelVersion', x.modelVersion), prob('riskScore', x.riskScore), ...Object.entries(x.horizonScores).map(([h, s]) => prob(`horizonScores.${h}`, s))];
    }
    case 'risk.workload': {
      const x = v as TopicRecords[typeof topic];
      return [...base, id('clientNetworkId', x.clientNetworkId), id('horizon', x.horizon), id('modelVersion', x.modelVersion), prob('securityRisk', x.securityRisk), nonNeg(['predictedCryptoOps', 'predictedPeakOpsPerSec', 'measuredOpsPerSec'], r)];
    }
    case 'alerts.admin':
      return [...base, id('subject', (v as TopicRecords[typeof topic]).subject)];
    case 'notifications.user':
      return [...base, id('userId', (v as TopicRecords[typeof topic]).userId)];
    default:
      return assertNever(topic, 'topic');
  }
}

/** Problems with a decoded record of `topic`; empty when it may be processed. */
export function validateRecord<T extends Topic>(topic: T, value: TopicRecords[T], now: number): string[] {
  const problems: string[] = [];
  for (const check of checksFor(topic, value, now)) check(problems);
  return problems;
}
