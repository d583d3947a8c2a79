/**
 * TypeScript shapes of the Avro records in this folder, one per topic. Timestamps are epoch
 * milliseconds (Avro timestamp-millis read as long). test/unit/schema-types.test.ts fails when
 * these drift from the .avsc files.
 */
export type VmAction = 'ACCESS_REQUEST' | 'CONNECT' | 'DISCONNECT' | 'EXEC' | 'FILE_TRANSFER' | 'ADMIN' | 'OTHER';
export type ActivityKind = 'LOGIN' | 'LOGOUT' | 'APP_USE' | 'IDLE' | 'ACTIVE' | 'OTHER';
export type VmLifecycleState = 'CREATED' | 'RUNNING' | 'STOPPED' | 'ARCHIVED' | 'DELETED' | 'UNKNOWN';
export type JobStatus = 'SCHEDULED' | 'STARTED' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'UNKNOWN';
export type TrafficType = 'WEB' | 'DATABASE' | 'BULK' | 'INTERACTIVE' | 'CRYPTO' | 'OTHER';
export type AlertKind = 'PRE_PROVISIONING_FAILURES' | 'POOL_EXHAUSTED' | 'POLICY_VIOLATION' | 'DEPENDENCY_UNAVAILABLE' | 'SECURITY' | 'OTHER';
export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';
export type NotificationKind =
  | 'CREDENTIAL_READY'
  | 'CREDENTIAL_REFRESH_SCHEDULED'
  | 'CREDENTIAL_REFRESHED'
  | 'ACCESS_DELAY_LIKELY'
  | 'CREDENTIAL_REVOKED'
  | 'OTHER';

export interface VmAccess {
  eventId: string;
  timestamp: number;
  userId: string;
  vmId: string;
  action: VmAction;
  success: boolean;
  source: string;
}

export interface UserActivity {
  eventId: string;
  timestamp: number;
  userId: string;
  activity: ActivityKind;
  application: string | null;
  durationMs: number | null;
}

export interface VmState {
  eventId: string;
  timestamp: number;
  vmId: string;
  state: VmLifecycleState;
  ownerId: string | null;
}

export interface ScheduledJob {
  eventId: string;
  timestamp: number;
  vmId: string;
  jobId: string;
  ownerId: string;
  schedule: string;
  nextRunAt: number | null;
  status: JobStatus;
}

export interface NetworkTelemetry {
  eventId: string;
  timestamp: number;
  clientNetworkId: string;
  intervalMs: number;
  bytesIn: number;
  bytesOut: number;
  packets: number;
  flows: number;
  trafficType: TrafficType;
  cryptoOps: number;
  tlsHandshakes: number;
  threatIndicators: string[];
}

export interface AccessFeatures {
  eventId: string;
  timestamp: number;
  userId: string;
  vmId: string;
  windowStart: number;
  windowEnd: number;
  featureVersion: number;
  accesses: number;
  successes: number;
  failures: number;
  accessRequests: number;
  actionCounts: Record<string, number>;
  userActiveMinutes: number;
  applications: number;
  logins: number;
  minutesSinceLastAccess: number | null;
  vmState: string;
  jobDueWithinHorizon: boolean;
  hourSin: number;
  hourCos: number;
  dowSin: number;
  dowCos: number;
}

export interface NetworkFeatures {
  eventId: string;
  timestamp: number;
  clientNetworkId: string;
  windowStart: number;
  windowEnd: number;
  featureVersion: number;
  bytesIn: number;
  bytesOut: number;
  packets: number;
  flows: number;
  cryptoOps: number;
  cryptoOpsRate: number;
  cryptoOpsPeak: number;
  tlsHandshakes: number;
  threatIndicatorCount: number;
  threatIndicators: Record<string, number>;
  hourSin: number;
  hourCos: number;
  dowSin: number;
  dowCos: number;
}

export interface AccessRisk {
  eventId: string;
  timestamp: number;
  userId: string;
  vmId: string;
  riskScore: number;
  horizon: string;
  horizonScores: Record<string, number>;
  predictedAccessTime: number | null;
  modelVersion: string;
}

export interface WorkloadRisk {
  eventId: string;
  timestamp: number;
  clientNetworkId: string;
  horizon: string;
  predictedCryptoOps: number;
  predictedPeakOpsPerSec: number;
  predictedPeakTime: number;
  measuredOpsPerSec: number;
  securityRisk: number;
  threatIndicators: string[];
  modelVersion: string;
}

export interface AdminAlert {
  eventId: string;
  timestamp: number;
  subject: string;
  kind: AlertKind;
  severity: Severity;
  message: string;
  details: Record<string, string>;
}

export interface UserNotification {
  eventId: string;
  timestamp: number;
  userId: string;
  kind: NotificationKind;
  vmId: string | null;
  message: string;
  scheduledFor: number | null;
}

/** Topic name → record type. Every topic in CONTRACT.md; `.dlq`/`.late` carry their source's bytes. */
export interface TopicRecords {
  'telemetry.vm-access': VmAccess;
  'telemetry.user-activity': UserActivity;
  'telemetry.vm-state': VmState;
  'telemetry.scheduled-jobs': ScheduledJob;
  'telemetry.network': NetworkTelemetry;
  'features.access': AccessFeatures;
  'features.network': NetworkFeatures;
  'risk.access': AccessRisk;
  'risk.workload': WorkloadRisk;
  'alerts.admin': AdminAlert;
  'notifications.user': UserNotification;
}

export type Topic = keyof TopicRecords;
export type TelemetryTopic = Extract<Topic, `telemetry.${string}`>;

export const TOPICS: readonly Topic[] = [
  'telemetry.vm-access',
  'telemetry.user-activity',
  'telemetry.vm-state',
  'telemetry.scheduled-jobs',
  'telemetry.network',
  'features.access',
  'features.network',
  'risk.access',
  'risk.workload',
  'alerts.admin',
  'notifications.user',
];

export const TELEMETRY_TOPICS: readonly TelemetryTopic[] = [
  'telemetry.vm-access',
  'telemetry.user-activity',
  'telemetry.vm-state',
  'telemetry.scheduled-jobs',
  'telemetry.network',
];

/** One line of a JSON-lines file (`simulate --out`, `publish --file`, `train --input`). */
export interface JsonlRecord<T extends Topic = Topic> {
  topic: T;
  key: string;
  value: TopicRecords[T];
}
