import { InvalidInputError, UnavailableError } from '../core/errors';
import { assertNever } from '../core/event';
import { silentLogger, type Logger } from '../core/log';
import { handleCommand, loadStream } from '../eventstore/handler';
import type { EventStorePort } from '../eventstore/port';
import type { AdminAlert, WorkloadRisk } from '../schemas/types';
import { policyAlert, poolExhaustedAlert, poolLowAlert } from './alerts';
import { PartitionTakenError, allocationDecider, capacityOf, hsmDecider, type AllocationCommand, type AllocationState, type HsmCommand, type HsmState } from './allocation';
import {
  allocationStream,
  hsmStream,
  poolStream,
  type AllocationEvent,
  type PartitionRef,
  type PoolLowWater,
  type RiskLevel,
  type RiskProfile,
} from './events';
import type { PartitionOps } from './partition-ops';
import { wrapUsage } from './partitions';
import { plan, type Plan } from './planner';
import { evaluatePolicy, factsFrom, type PolicyDecision, type PolicyRule } from './policy';
import type { PoolConfig } from './pool-config';
import { poolDecider, tierUsage } from './pool-watch';
import { profileFor, rotationDue, tighter } from './risk-profile';

/**
 * The HSM role's logic for one risk.workload record, with every edge injected (event store,
 * partition operations, alert publishing). Decides with the pure planner, policy engine and
 * Deciders; every change is an event appended through the Decider handler, with command ids
 * derived from the record's eventId so a redelivered record changes nothing twice.
 *
 * Order per record: risk profile (tighten before the peak) -> policy actions -> capacity plan
 * -> baseline keys on new partitions -> scheduled rotations and retirements.
 */
export interface OrchestratorDeps {
  config: PoolConfig;
  rules: readonly PolicyRule[];
  store: EventStorePort;
  partitions: PartitionOps;
  publishAlert(alert: AdminAlert): Promise<void>;
  log?: Logger;
  /** Partition ownership across the pool after each decision (pool utilisation metrics). */
  onPoolAssignments?(assigned: Readonly<Record<string, string>>): void;
}

type Runner = (c: AllocationCommand, step: string) => Promise<{ state: AllocationState; events: AllocationEvent[]; replayed: boolean }>;

export interface HandledWorkload {
  plan: Plan;
  events: AllocationEvent[];
}

const iso = (t: number) => new Date(t).toISOString();

export class HsmOrchestrator {
  private readonly log: Logger;
  constructor(private readonly d: OrchestratorDeps) {
    this.log = d.log ?? silentLogger;
  }

  /** Who holds which partition across the pool, folded from the hsm-* streams. */
  async poolAssignments(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const h of this.d.config.hsms) {
      const { state } = await loadStream(this.d.store, hsmStream(h.id), hsmDecider);
      Object.assign(out, state.assigned);
    }
    return out;
  }

  async allocation(clientNetworkId: string): Promise<AllocationState> {
    return (await loadStream(this.d.store, allocationStream(clientNetworkId), allocationDecider)).state;
  }

  private async exec(cmd: AllocationCommand, commandId: string, causationId: string): ReturnType<Runner> {
    const r = await handleCommand(this.d.store, {
      stream: allocationStream(cmd.clientNetworkId),
      decider: allocationDecider,
      command: cmd,
      commandId,
      causationId,
      now: cmd.at,
    });
    return { state: r.state, events: r.events.map((e) => ({ type: e.type, data: e.data }) as AllocationEvent), replayed: r.alreadyApplied };
  }

  private async execHsm(cmd: HsmCommand, commandId: string): Promise<HsmState> {
    return (await handleCommand(this.d.store, { stream: hsmStream(cmd.hsmId), decider: hsmDecider, command: cmd, commandId, now: cmd.at })).state;
  }

  async handle(r: WorkloadRisk): Promise<HandledWorkload> {
    const id = r.clientNetworkId;
    const now = r.timestamp;
    const at = iso(now);
    const cid = (step: string) => `${r.eventId}:${step}`;
    const events: AllocationEvent[] = [];
    const run = async (cmd: AllocationCommand, step: string) => {
      const out = await this.exec(cmd, cid(step), r.eventId);
      events.push(...out.events);
      return out;
    };
    let state = await this.allocation(id);
    // Older than a decision already taken (redelivered after a crash, resumed, or arriving after a
    // lead-time allocation): planned again against newer state it undid later decisions, so it
    // plans no capacity and changes no profile; its policy rules may still tighten, never loosen.
    const stale = state.forecastAt !== null && at < state.forecastAt;

    // 1. Risk-adaptive profile, applied to the keys before the peak arrives.
    const profile = stale && state.profile ? state.profile : profileFor(r.securityRisk, state.profile);
    const applied = stale ? { state, events: [], replayed: false } : await run({ kind: 'ApplyRiskProfile', clientNetworkId: id, securityRisk: r.securityRisk, profile, at }, 'profile');
    state = applied.state;
    // On every record (idempotent: a crash between event and token update cannot leave it looser).
    // A retry after the HSM failed past the event finds the change written: still to be audited.
    if (!state.quarantined && state.profile) {
      await this.applyProfile(state, state.profile);
      if (applied.events.length > 0 || applied.replayed) state = await this.auditAttributes(state, state.profile, 'risk score', at, 'profile', run);
    }

    // 2. Policy rules.
    const facts = factsFrom(r, capacityOf(state), state.profile?.level ?? profile.level);
    for (const d of evaluatePolicy(this.d.rules, facts, now, state.ruleFiredAt)) {
      // An action that would change nothing is not taken, so it leaves no event.
      if ((d.action === 'quarantine' && state.quarantined) || (d.action === 'lift-quarantine' && (!state.quarantined || stale))) continue;
      const step = `policy:${d.ruleId}:${d.action}`;
      state = await this.act(state, d, { id, at, now, securityRisk: r.securityRisk, riskLevel: facts.riskLevel, step, alertId: cid(step), run });
      ({ state } = await run({ kind: 'RecordPolicyAction', clientNetworkId: id, ruleId: d.ruleId, action: d.action, reason: d.reason, at }, step));
    }

    // 3. Capacity.
    const decision: Plan = stale ? { kind: 'hold', reason: `forecast older than ${state.forecastAt}` } : await this.planAndAct(r, state, run);
    state = await this.allocation(id);
    if (!stale) await this.freeOrphans(r, state);
    if (!stale) await this.assessPool(r);

    // 4. Baseline on partitions not configured yet (new ones, or a crash before it finished).
    const current = state.profile ?? profile;
    for (const p of state.partitions.filter((x) => !x.configured)) {
      const keys = await this.d.partitions.configureBaseline(p.label, current);
      ({ state } = await run({ kind: 'RecordConfigured', clientNetworkId: id, label: p.label, keys, profile: current, at }, `configure:${p.label}`));
    }

    // 5. Scheduled rotation and retirement of old versions.
    if (!state.quarantined) state = await this.rotateDue(state, id, current, now, run);
    this.log.debug('workload handled', { clientNetworkId: id, plan: decision.kind, events: events.length });
    return { plan: decision, events };
  }

  /** Carries out one policy action (from a rule or an administrator) on the tokens and the stream. */
  private async act(
    state: AllocationState,
    d: PolicyDecision,
    c: { id: string; at: string; now: number; securityRisk: number; riskLevel: RiskLevel; step: string; alertId: string; run: Runner },
  ): Promise<AllocationState> {
    const { id, at, step, run } = c;
    let s = state;
    switch (d.action) {
      case 'rotate-now':
        return this.rotateAll(s, id, `policy:${d.ruleId}`, at, step, run);
      case 'tighten-policy': {
        const t = tighter(s.profile);
        ({ state: s } = await run({ kind: 'ApplyRiskProfile', clientNetworkId: id, securityRisk: c.securityRisk, profile: t, at }, `${step}:apply`));
        if (s.quarantined) return s;
        await this.applyProfile(s, t);
        return this.auditAttributes(s, t, `policy:${d.ruleId}`, at, step, run);
      }
      case 'quarantine':
        for (const p of s.partitions) await this.d.partitions.freeze(p.label);
        return (await run({ kind: 'Quarantine', clientNetworkId: id, ruleId: d.ruleId, reason: d.reason, at }, `${step}:apply`)).state;
      case 'lift-quarantine':
        // Thawed before the lift is recorded (as quarantine freezes first): recorded first, an HSM
        // failure in between left the keys frozen and the retry skipped a lift already on record.
        for (const p of s.partitions.filter((x) => x.configured)) {
          const current = Object.values(p.keys).flatMap((f) => (f ? [f.current] : []));
          await this.d.partitions.thaw(p.label, current, s.profile ?? profileFor(c.securityRisk, null));
        }
        return (await run({ kind: 'LiftQuarantine', clientNetworkId: id, ruleId: d.ruleId, at }, `${step}:apply`)).state;
      case 'alert':
        await this.d.publishAlert(
          policyAlert({ eventId: c.alertId, now: c.now, clientNetworkId: id, ruleId: d.ruleId, reason: d.reason, securityRisk: c.securityRisk, riskLevel: c.riskLevel }),
        );
        return s;
      default:
        return assertNever(d.action, 'policy action');
    }
  }

  /**
   * An administrator's action (`foresight hsm quarantine|lift-quarantine|rotate`), recorded like a
   * rule's, under rule id "admin:<actor>". `commandId` makes a repeated invocation a no-op.
   */
  async adminAction(clientNetworkId: string, action: 'quarantine' | 'lift-quarantine' | 'rotate-now', actor: string, reason: string, now: number, commandId: string): Promise<AllocationEvent[]> {
    const events: AllocationEvent[] = [];
    const run: Runner = async (cmd, step) => {
      const out = await this.exec(cmd, `${commandId}:${step}`, commandId);
      events.push(...out.events);
      return out;
    };
    const state = await this.allocation(clientNetworkId);
    if (state.clientNetworkId === null) throw new InvalidInputError(`client network ${clientNetworkId} has no allocation history`);
    if ((action === 'quarantine' && state.quarantined) || (action === 'lift-quarantine' && !state.quarantined)) return [];
    const d: PolicyDecision = { ruleId: `admin:${actor}`, action, reason };
    const at = iso(now);
    const step = `admin:${action}`;
    const c = { id: clientNetworkId, at, now, securityRisk: 0, riskLevel: state.profile?.level ?? ('low' as const), step, alertId: `${commandId}:alert`, run };
    await this.act(state, d, c);
    await run({ kind: 'RecordPolicyAction', clientNetworkId, ruleId: d.ruleId, action, reason, at }, step);
    return events;
  }

  /** Audit levels above "standard" record what a profile change did to each key in the token. */
  private async auditAttributes(state: AllocationState, profile: RiskProfile, cause: string, at: string, step: string, run: Runner): Promise<AllocationState> {
    if (profile.auditLevel === 'standard' || !state.clientNetworkId) return state;
    let s = state;
    for (const p of state.partitions) {
      const wrap = p.keys['root-wrap']?.current;
      if (!p.configured || !wrap) continue;
      ({ state: s } = await run(
        { kind: 'RecordAttributes', clientNetworkId: state.clientNetworkId, label: p.label, keyLabel: wrap.keyLabel, usage: wrapUsage(profile, true), auditLevel: profile.auditLevel, cause, at },
        `${step}:audit:${p.label}`,
      ));
    }
    return s;
  }

  private async applyProfile(state: AllocationState, profile: RiskProfile): Promise<void> {
    for (const p of state.partitions.filter((x) => x.configured)) {
      await this.d.partitions.applyProfile(p.label, p.keys['root-wrap']?.current, profile);
    }
  }

  private async rotateAll(state: AllocationState, id: string, cause: string, at: string, step: string, run: Runner): Promise<AllocationState> {
    const profile = state.profile ?? profileFor(0, null);
    let s = state;
    for (const p of state.partitions.filter((x) => x.configured)) {
      for (const fam of Object.values(p.keys)) {
        // A retry of this record (the HSM failed after some families) must not rotate those again:
        // the token would get a version the stream never records, and the recorded one demoted.
        if (!fam || (fam.current.version > 1 && fam.versions.some((v) => v.version === fam.current.version && v.createdAt === at))) continue;
        const key = await this.d.partitions.rotate(p.label, fam.current, profile);
        ({ state: s } = await run({ kind: 'RecordRotation', clientNetworkId: id, label: p.label, key, cause, at }, `${step}:${p.label}:${fam.current.family}`));
      }
    }
    return s;
  }

  private async rotateDue(
    state: AllocationState,
    id: string,
    profile: RiskProfile,
    now: number,
    run: Runner,
  ): Promise<AllocationState> {
    const at = iso(now);
    let s = state;
    for (const p of state.partitions.filter((x) => x.configured)) {
      for (const fam of Object.values(p.keys)) {
        if (!fam) continue;
        const made = fam.versions.find((v) => v.version === fam.current.version)?.createdAt ?? at;
        if (rotationDue(made, now, profile)) {
          const key = await this.d.partitions.rotate(p.label, fam.current, profile);
          ({ state: s } = await run({ kind: 'RecordRotation', clientNetworkId: id, label: p.label, key, cause: `interval ${profile.rotationIntervalHours}h`, at }, `rotate:${p.label}:${fam.current.family}:${key.version}`));
        }
      }
    }
    // Keep the current version plus `keepOldVersions` older ones; retire the rest, oldest first.
    for (const p of s.partitions) {
      for (const fam of Object.values(p.keys)) {
        if (!fam) continue;
        const old = fam.versions.filter((v) => v.version !== fam.current.version);
        for (const v of old.slice(0, Math.max(0, old.length - profile.keepOldVersions))) {
          await this.d.partitions.retire(p.label, v);
          ({ state: s } = await run({ kind: 'RecordRetirement', clientNetworkId: id, label: p.label, family: v.family, version: v.version, at }, `retire:${p.label}:${v.family}:${v.version}`));
        }
      }
    }
    return s;
  }

  private async planAndAct(
    r: WorkloadRisk,
    initial: AllocationState,
    run: Runner,
  ): Promise<Plan> {
    const id = r.clientNetworkId;
    const at = iso(r.timestamp);
    const forecast = {
      predictedPeakOpsPerSec: r.predictedPeakOpsPerSec,
      predictedPeakTime: r.predictedPeakTime,
      measuredOpsPerSec: r.measuredOpsPerSec,
      modelVersion: r.modelVersion,
    };
    // A partition another orchestrator claimed between our plan and our claim: plan again.
    for (let attempt = 0; ; attempt++) {
      const state = attempt === 0 ? initial : await this.allocation(id);
      // A partition claimed for this client whose allocation event never followed (a crash in
      // between) is this client's to use again, not lost to the pool.
      const assigned = Object.fromEntries(
        Object.entries(await this.poolAssignments()).filter(([label, owner]) => owner !== id || state.partitions.some((x) => x.label === label)),
      );
      const p = plan({ config: this.d.config, assigned, current: state, forecast, now: r.timestamp });
      try {
        if (p.kind === 'allocate' || p.kind === 'exhausted') {
          const parts = p.kind === 'allocate' ? p.partitions : p.partial;
          await this.claim(r, parts, at);
          if (parts.length > 0) {
            await run(
              {
                kind: 'Allocate',
                clientNetworkId: id,
                partitions: parts,
                reason: p.kind === 'allocate' ? p.reason : state.partitions.length ? 'scale-up' : 'predicted-peak',
                requiredOpsPerSecond: p.requiredOpsPerSecond,
                predictedPeakOpsPerSec: r.predictedPeakOpsPerSec,
                predictedPeakTime: iso(r.predictedPeakTime),
                measuredOpsPerSec: r.measuredOpsPerSec,
                modelVersion: r.modelVersion,
                at,
              },
              'allocate',
            );
          }
          if (p.kind === 'exhausted') await this.exhausted(r, p, run);
        } else if (p.kind === 'release') {
          await run({ kind: 'Release', clientNetworkId: id, labels: p.labels, reason: p.reason, predictedPeakOpsPerSec: r.predictedPeakOpsPerSec, measuredOpsPerSec: r.measuredOpsPerSec, at }, 'release');
          for (const label of p.labels) {
            const part = state.partitions.find((x) => x.label === label);
            await this.d.partitions.wipe(label);
            if (part) await this.execHsm({ kind: 'FreePartition', hsmId: part.hsmId, label, clientNetworkId: id, at }, `${r.eventId}:free:${label}`);
          }
        }
        return p;
      } catch (err) {
        if (!(err instanceof PartitionTakenError) || attempt >= 3) throw err;
      }
    }
  }

  /** Warns (once per episode and tier) when a tier's free partitions fall below the reserve. */
  private async assessPool(r: WorkloadRisk): Promise<void> {
    const assigned = await this.poolAssignments();
    this.d.onPoolAssignments?.(assigned);
    const usage = tierUsage(this.d.config, assigned);
    const reserveFraction = this.d.config.planner.reserveFraction;
    const out = await handleCommand(this.d.store, {
      stream: poolStream(this.d.config.poolId),
      decider: poolDecider,
      command: { kind: 'AssessPool', clientNetworkId: r.clientNetworkId, usage, reserveFraction, at: iso(r.timestamp) },
      commandId: `${r.eventId}:pool`,
      causationId: r.eventId,
      now: r.timestamp,
    });
    for (const e of out.events) {
      if (e.type !== 'PoolLowWater') continue;
      const d = e.data as PoolLowWater['data'];
      await this.d.publishAlert(poolLowAlert(`${r.eventId}:pool-low:${d.tier}`, r.timestamp, d, reserveFraction));
    }
  }

  /** Partitions this client holds on hsm-* streams but not in its allocation go back to the pool. */
  private async freeOrphans(r: WorkloadRisk, state: AllocationState): Promise<void> {
    const at = iso(r.timestamp);
    for (const [label, owner] of Object.entries(await this.poolAssignments())) {
      if (owner !== r.clientNetworkId || state.partitions.some((p) => p.label === label)) continue;
      const hsm = this.d.config.hsms.find((h) => h.partitionLabels.includes(label));
      if (!hsm) continue;
      this.log.warn('freeing a partition claimed but not allocated', { clientNetworkId: owner, partition: label });
      await this.d.partitions.wipe(label);
      await this.execHsm({ kind: 'FreePartition', hsmId: hsm.id, label, clientNetworkId: owner, at }, `${r.eventId}:orphan:${label}`);
    }
  }

  private async claim(r: WorkloadRisk, parts: PartitionRef[], at: string): Promise<void> {
    for (const part of parts) {
      // A claim this record made, freed since as an orphan (a crash before its allocation), is
      // skipped as a repeat of its command: claim again under a new id until it is really ours.
      const assign = (n: number) =>
        this.execHsm({ kind: 'AssignPartition', hsmId: part.hsmId, label: part.label, clientNetworkId: r.clientNetworkId, at }, `${r.eventId}:assign:${part.label}${n ? `:${n}` : ''}`);
      if ((await assign(0)).assigned[part.label] !== r.clientNetworkId && (await assign(1)).assigned[part.label] !== r.clientNetworkId) {
        throw new UnavailableError('hsm', `partition ${part.label} could not be claimed for ${r.clientNetworkId}; retry`);
      }
      await this.d.partitions.ensure(part.label);
    }
  }

  private async exhausted(
    r: WorkloadRisk,
    p: Extract<Plan, { kind: 'exhausted' }>,
    run: Runner,
  ): Promise<void> {
    const { events } = await run(
      {
        kind: 'RecordExhaustion',
        clientNetworkId: r.clientNetworkId,
        tier: p.tier,
        requiredOpsPerSecond: p.requiredOpsPerSecond,
        missingPartitions: p.missingPartitions,
        shortfallOpsPerSecond: p.shortfallOpsPerSecond,
        recommendedHsms: p.recommendedHsms,
        at: iso(r.timestamp),
      },
      'exhaustion',
    );
    const rec = events.find((e) => e.type === 'ScaleOutRecommended');
    if (!rec || rec.type !== 'ScaleOutRecommended') return; // episode already alerted
    await this.d.publishAlert(poolExhaustedAlert(`${r.eventId}:pool-exhausted`, r.timestamp, r.clientNetworkId, p));
  }
}
