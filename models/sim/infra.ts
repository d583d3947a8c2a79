import { cronString, nextRun, runsBetween } from './cron';
import { Population, vmRunning } from './population';
import { Rng } from './rng';
import { Sink } from './sink';
import { MIN } from './time';

/** VM lifecycles (created, running, stopped for maintenance, archived) and scheduled jobs. */
export function simulateVms(pop: Population, sink: Sink): void {
  for (const vm of pop.vms) {
    const state = (timestamp: number, s: 'CREATED' | 'RUNNING' | 'STOPPED' | 'ARCHIVED') =>
      sink.add('telemetry.vm-state', vm.id, { timestamp, vmId: vm.id, state: s, ownerId: vm.ownerId });
    state(vm.createdAt, 'CREATED');
    state(vm.createdAt + 5 * MIN, 'RUNNING');
    if (vm.maintenance) {
      state(vm.maintenance.from, 'STOPPED');
      state(vm.maintenance.to, 'RUNNING');
    }
    if (vm.archivedAt !== null) {
      state(vm.archivedAt - MIN, 'STOPPED');
      state(vm.archivedAt, 'ARCHIVED');
    }
  }
}

/**
 * A job runs as its owner, so each run needs the owner's credential for the VM: the scheduler
 * asks for it a minute before the run (an ACCESS_REQUEST with source "scheduler").
 */
export function simulateJobs(pop: Population, sink: Sink): void {
  const byId = new Map(pop.vms.map((v) => [v.id, v]));
  for (const job of pop.jobs) {
    const r = new Rng(pop.config.seed).fork(`runs-${job.id}`);
    const vm = byId.get(job.vmId);
    if (!vm) continue;
    job.schedules.forEach((sched, i) => {
      const to = Math.min(job.until, job.schedules[i + 1]?.from ?? job.until);
      const from = Math.max(sched.from, vm.createdAt + 10 * MIN);
      const schedule = cronString(sched.cron);
      const base = { vmId: job.vmId, jobId: job.id, ownerId: job.ownerId, schedule };
      sink.add('telemetry.scheduled-jobs', job.vmId, { ...base, timestamp: from, nextRunAt: nextRun(sched.cron, from), status: 'SCHEDULED' });
      for (const run of runsBetween(sched.cron, from, to)) {
        const up = vmRunning(vm, run);
        sink.add('telemetry.vm-access', job.ownerId, { timestamp: run - MIN, userId: job.ownerId, vmId: job.vmId, action: 'ACCESS_REQUEST', success: up, source: 'scheduler' });
        const next = nextRun(sched.cron, run);
        const nextRunAt = next !== null && next < to ? next : null;
        if (!up) {
          sink.add('telemetry.scheduled-jobs', job.vmId, { ...base, timestamp: run, nextRunAt, status: 'FAILED' });
          continue;
        }
        sink.add('telemetry.vm-access', job.ownerId, { timestamp: run, userId: job.ownerId, vmId: job.vmId, action: 'EXEC', success: true, source: 'scheduler' });
        sink.add('telemetry.scheduled-jobs', job.vmId, { ...base, timestamp: run, nextRunAt, status: 'STARTED' });
        const done = run + Math.round(r.uniform(2, 20) * MIN);
        sink.add('telemetry.scheduled-jobs', job.vmId, { ...base, timestamp: done, nextRunAt, status: r.chance(0.05) ? 'FAILED' : 'SUCCEEDED' });
      }
      if (to === job.until && job.until < pop.end) {
        sink.add('telemetry.scheduled-jobs', job.vmId, { ...base, timestamp: job.until - MIN, nextRunAt: null, status: 'CANCELLED' });
      }
    });
  }
}
