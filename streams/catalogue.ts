import { TOPICS, type Topic } from '../schemas';
import { physicalTopic } from './naming';

/** One topic's shape. Retention in ms (-1: forever); compacted topics keep the latest per key. */
export interface TopicSpec {
  name: string;
  partitions: number;
  cleanup: 'delete' | 'compact';
  retentionMs: number;
  /** What it is for, shown by tools and docs. */
  purpose: string;
}

const DAY = 24 * 3600 * 1000;

/**
 * User-keyed topics share one partition count so the access projection can join vm-access and
 * user-activity by userId partition-for-partition (co-partitioning). vm-state is compacted: it is
 * read as a table of every VM's latest state.
 */
export const USER_PARTITIONS = 6;

const BASE: Record<Topic, Omit<TopicSpec, 'name'>> = {
  'telemetry.vm-access': { partitions: USER_PARTITIONS, cleanup: 'delete', retentionMs: 7 * DAY, purpose: 'VM access log, key userId' },
  'telemetry.user-activity': { partitions: USER_PARTITIONS, cleanup: 'delete', retentionMs: 7 * DAY, purpose: 'user activity, key userId' },
  'telemetry.vm-state': { partitions: 3, cleanup: 'compact', retentionMs: -1, purpose: 'VM lifecycle, key vmId, read as a global table' },
  'telemetry.scheduled-jobs': { partitions: 3, cleanup: 'delete', retentionMs: 7 * DAY, purpose: 'jobs inside VMs, key vmId' },
  'telemetry.network': { partitions: 3, cleanup: 'delete', retentionMs: 7 * DAY, purpose: 'client network traffic, key clientNetworkId' },
  'features.access': { partitions: USER_PARTITIONS, cleanup: 'delete', retentionMs: 7 * DAY, purpose: 'windowed access features, key userId' },
  'features.network': { partitions: 3, cleanup: 'delete', retentionMs: 7 * DAY, purpose: 'windowed network features, key clientNetworkId' },
  'risk.access': { partitions: USER_PARTITIONS, cleanup: 'delete', retentionMs: 3 * DAY, purpose: 'access-risk scores, key userId' },
  'risk.workload': { partitions: 3, cleanup: 'delete', retentionMs: 3 * DAY, purpose: 'workload forecasts, key clientNetworkId' },
  'alerts.admin': { partitions: 1, cleanup: 'delete', retentionMs: 30 * DAY, purpose: 'alerts for administrators, key subject' },
  'notifications.user': { partitions: 3, cleanup: 'delete', retentionMs: 30 * DAY, purpose: 'notifications for users, key userId' },
};

/** Topics a role consumes: each gets `.dlq` (bad records) and `.late` (past the grace period). */
export const INPUT_TOPICS: readonly Topic[] = TOPICS.filter((t) => t.startsWith('telemetry.') || t.startsWith('features.') || t.startsWith('risk.'));

export const dlqTopic = (topic: string): string => `${topic}.dlq`;
export const lateTopic = (topic: string): string => `${topic}.late`;

/** A compacted changelog for a stateful processor's store (e.g. a projection's window state). */
export function changelogSpec(name: string, partitions = USER_PARTITIONS): TopicSpec {
  return { name, partitions, cleanup: 'compact', retentionMs: -1, purpose: 'state store changelog' };
}

/**
 * The whole catalogue: every contract topic (or those given), plus `.dlq`/`.late` beside each
 * input topic, named under `namespace` when one is given.
 */
export function catalogue(namespace?: string, topics: readonly Topic[] = TOPICS): TopicSpec[] {
  const out: TopicSpec[] = [];
  for (const t of topics) {
    const b = BASE[t];
    const name = physicalTopic(t, namespace);
    out.push({ name, ...b });
    if (INPUT_TOPICS.includes(t)) {
      out.push({ name: dlqTopic(name), partitions: b.partitions, cleanup: 'delete', retentionMs: 30 * DAY, purpose: `records of ${t} that cannot be decoded or are invalid` });
      out.push({ name: lateTopic(name), partitions: b.partitions, cleanup: 'delete', retentionMs: 7 * DAY, purpose: `records of ${t} later than the window grace period` });
    }
  }
  return out;
}

export function specOf(topic: Topic, namespace?: string): TopicSpec {
  return { name: physicalTopic(topic, namespace), ...BASE[topic] };
}

/** Topic configs as Kafka expects them. */
export function topicConfig(spec: TopicSpec): Array<{ name: string; value: string }> {
  return [
    { name: 'cleanup.policy', value: spec.cleanup },
    { name: 'retention.ms', value: String(spec.retentionMs) },
  ];
}
