import type { WorkloadRisk } from '../schemas/types';
import type { Plan } from './planner';

/**
 * Forecasts whose peak is further away than the lead time wait here and come back, re-stamped
 * with the moment the lead time starts, when the clock reaches it. One entry per client network:
 * a newer forecast replaces the older one (or cancels it, when its plan is not "wait").
 * In memory only: after a restart the next forecast for that network schedules it again.
 */
export class LeadTimeScheduler {
  private readonly waiting = new Map<string, { until: number; record: WorkloadRisk }>();

  offer(record: WorkloadRisk, plan: Plan): void {
    if (plan.kind === 'wait') this.waiting.set(record.clientNetworkId, { until: plan.until, record });
    else this.waiting.delete(record.clientNetworkId);
  }

  /** The records due at `now`, removed from the schedule; event time = the start of the lead time. */
  due(now: number): WorkloadRisk[] {
    const out: WorkloadRisk[] = [];
    for (const [id, w] of this.waiting) {
      if (now < w.until) continue;
      this.waiting.delete(id);
      // A distinct eventId: the orchestrator's command ids derive from it, and this is a new decision.
      out.push({ ...w.record, eventId: `${w.record.eventId}:lead-time`, timestamp: w.until });
    }
    return out;
  }

  get size(): number {
    return this.waiting.size;
  }
}
