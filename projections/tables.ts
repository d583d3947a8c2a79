/**
 * Global tables the access projection looks up when a window closes: every instance holds all
 * of telemetry.vm-state and telemetry.scheduled-jobs. Lookups are as of an event time (the
 * window end), not "latest", so a replay or a restart gives the same answer whatever order the
 * table's records arrived in.
 */
import type { JobStatus, ScheduledJob, VmLifecycleState, VmState } from '../schemas/types';
import { nextFiring } from './cron';
import { TABLE_RETENTION_MS } from './spec';

interface Timed {
  eventId: string;
  timestamp: number;
}

function insertSorted<E extends Timed>(list: E[], e: E): boolean {
  if (list.some((x) => x.eventId === e.eventId)) return false;
  let i = list.length;
  while (i > 0 && (list[i - 1].timestamp > e.timestamp || (list[i - 1].timestamp === e.timestamp && list[i - 1].eventId > e.eventId))) i--;
  list.splice(i, 0, e);
  return true;
}

/** The latest entry strictly before t (a window end is exclusive). */
function asOf<E extends Timed>(list: E[] | undefined, t: number): E | undefined {
  if (!list) return undefined;
  for (let i = list.length - 1; i >= 0; i--) if (list[i].timestamp < t) return list[i];
  return undefined;
}

/** Keeps everything from the cutoff on, plus the one entry that was current at the cutoff. */
function prune<E extends Timed>(list: E[], cutoff: number): E[] {
  let firstKept = list.findIndex((e) => e.timestamp >= cutoff);
  if (firstKept === -1) firstKept = list.length;
  return list.slice(Math.max(0, firstKept - 1));
}

export interface VmStateEntry extends Timed {
  state: VmLifecycleState;
}

export class VmStateTable {
  private readonly byVm = new Map<string, VmStateEntry[]>();

  apply(r: VmState): void {
    let list = this.byVm.get(r.vmId);
    if (!list) this.byVm.set(r.vmId, (list = []));
    insertSorted(list, { eventId: r.eventId, timestamp: r.timestamp, state: r.state });
  }

  /** The VM's state at t; UNKNOWN before its first transition. */
  stateAt(vmId: string, t: number): VmLifecycleState {
    return asOf(this.byVm.get(vmId), t)?.state ?? 'UNKNOWN';
  }

  prune(watermark: number, retentionMs = TABLE_RETENTION_MS): void {
    for (const [vm, list] of this.byVm) this.byVm.set(vm, prune(list, watermark - retentionMs));
  }

  size(): number {
    return this.byVm.size;
  }

  export(): Record<string, VmStateEntry[]> {
    return Object.fromEntries([...this.byVm.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  import(snap: Record<string, VmStateEntry[]>): void {
    this.byVm.clear();
    for (const [vm, list] of Object.entries(snap)) this.byVm.set(vm, list);
  }
}

export interface JobEntry extends Timed {
  vmId: string;
  ownerId: string;
  schedule: string;
  nextRunAt: number | null;
  status: JobStatus;
}

export class JobTable {
  private readonly byJob = new Map<string, JobEntry[]>();
  /** `${ownerId}\u0000${vmId}` → jobs that ever ran as that owner on that VM. */
  private readonly byPair = new Map<string, Set<string>>();

  apply(r: ScheduledJob): void {
    let list = this.byJob.get(r.jobId);
    if (!list) this.byJob.set(r.jobId, (list = []));
    const e: JobEntry = {
      eventId: r.eventId,
      timestamp: r.timestamp,
      vmId: r.vmId,
      ownerId: r.ownerId,
      schedule: r.schedule,
      nextRunAt: r.nextRunAt,
      status: r.status,
    };
    if (insertSorted(list, e)) this.index(r.jobId, e);
  }

  private index(jobId: string, e: JobEntry): void {
    const k = `${e.ownerId}\u0000${e.vmId}`;
    let s = this.byPair.get(k);
    if (!s) this.byPair.set(k, (s = new Set()));
    s.add(jobId);
  }

  /** Whether a job running as ownerId on vmId, as known at `from`, is due in [from, to). */
  dueWithin(ownerId: string, vmId: string, from: number, to: number): boolean {
    const jobs = this.byPair.get(`${ownerId}\u0000${vmId}`);
    if (!jobs) return false;
    for (const jobId of [...jobs].sort()) {
      const e = asOf(this.byJob.get(jobId), from);
      if (!e || e.ownerId !== ownerId || e.vmId !== vmId || e.status === 'CANCELLED' || e.nextRunAt === null) continue;
      if (e.nextRunAt >= from && e.nextRunAt < to) return true;
      // A recurring job whose recorded next run has passed still fires on its schedule.
      if (e.nextRunAt < from && nextFiring(e.schedule, from, to) !== null) return true;
    }
    return false;
  }

  prune(watermark: number, retentionMs = TABLE_RETENTION_MS): void {
    for (const [job, list] of this.byJob) this.byJob.set(job, prune(list, watermark - retentionMs));
  }

  size(): number {
    return this.byJob.size;
  }

  export(): Record<string, JobEntry[]> {
    return Object.fromEntries([...this.byJob.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  import(snap: Record<string, JobEntry[]>): void {
    this.byJob.clear();
    this.byPair.clear();
    for (const [job, list] of Object.entries(snap)) {
      this.byJob.set(job, list);
      for (const e of list) this.index(job, e);
    }
  }
}
