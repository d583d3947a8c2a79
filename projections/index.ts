export { computeFeatures, type OfflineOptions, type OfflineResult } from './offline';
export * from './spec';
export { WindowEngine, type Aggregation, type Outcome, type ProcessResult, type KeySnapshot, type ClockSnapshot } from './window';
export { accessAggregation, accessEventId, type AccessInput, type AccessContext } from './access-features';
export { networkAggregation, networkEventId, networkEventTime } from './network-features';
export { VmStateTable, JobTable } from './tables';
export { nextFiring, parseCron } from './cron';
export * from './engines';
export { Task, type TaskKind, type InputTopic } from './task';
// The role pulls in Kafka; pure users (training) import from './offline' and './spec' directly.
export { startProjections, changelogTopic, PROJECTIONS_GROUP, DEFAULT_IDLE_MS, type ProjectionsRoleOptions, type RunningProjections } from './role';
