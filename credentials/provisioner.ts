import type { Clock } from '../core/clock';
import { ForesightError, InvalidInputError, isRetriable } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { handleCommand, loadStream } from '../eventstore/handler';
import type { EventStorePort } from '../eventstore/port';
import type { AccessRisk } from '../schemas';
import { done, retry, toDlq, type Outcome } from '../streams/outcome';
import { credentialDecider, preProvisionVerdict, validCredential, type CredentialState } from './credential-decider';
import { credentialStream, isValidId, type CredentialEvent } from './events';
import { EMPTY_WINDOW, noteFailure, type FailureWindow } from './failure-window';
import type { CredentialMetrics } from './metrics';
import { credentialIdFor, type CredentialMinter } from './minter';
import { policyFor, scoreFor, type CredentialsConfig } from './policy';
import type { CredentialVault, Notifier } from './ports';

export interface ProvisionerDeps {
  store: EventStorePort;
  minter: CredentialMinter;
  vault: CredentialVault;
  notifier: Notifier;
  config: CredentialsConfig;
  metrics: CredentialMetrics;
  log?: Logger;
  /**
   * The role's clock. A score whose credential would already have expired by now (a backlog
   * read from the beginning, a consumer long down) is skipped as stale instead of minted as
   * instant waste. Absent: every score is taken at its event time.
   */
  clock?: Clock;
}

/**
 * One short line for events, alerts and logs. Our errors name components and codes, never
 * secrets; user:password in a URL (a connection string quoted by a library) is masked all the same.
 */
export function failureReason(err: unknown): string {
  const s = err instanceof ForesightError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  return s.split('\n')[0].replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 240);
}

/**
 * The provisioner role's logic: risk.access in, credentials ready before anyone asks. Event time
 * (the risk record's timestamp) is the clock for every decision, so a replay decides the same.
 */
export class Provisioner {
  private readonly log: Logger;
  /** Failure windows for when the event store itself is down and cannot count them. */
  private readonly memoryFailures = new Map<string, FailureWindow>();
  private readonly warnedHorizons = new Set<string>();

  constructor(private readonly d: ProvisionerDeps) {
    this.log = d.log ?? silentLogger;
  }

  async handleRisk(risk: AccessRisk, commandId: string): Promise<Outcome> {
    if (!isValidId(risk.userId) || !isValidId(risk.vmId)) return toDlq('invalid', 'userId or vmId is not a valid id');
    if (!Number.isFinite(risk.timestamp) || !(risk.riskScore >= 0 && risk.riskScore <= 1)) return toDlq('invalid', 'timestamp or riskScore out of range');
    const at = risk.timestamp;
    const stream = credentialStream(risk.userId, risk.vmId);
    const policy = policyFor(this.d.config, risk.vmId);
    // The score the policy's threshold is about: the primary one, or its horizon's. It is also
    // what the event records, so an audit compares it with the threshold it met.
    const score = scoreFor(risk, policy);
    if (score !== undefined && !(score >= 0 && score <= 1)) return toDlq('invalid', `horizonScores.${policy.horizon} out of range`);
    let mintedId: string | undefined;
    try {
      const loaded = await loadStream(this.d.store, stream, credentialDecider);
      if (loaded.commandIds.has(commandId)) {
        // Redelivery: nothing is decided again. If this command made the current credential, the
        // notification may not have gone out before the crash; its eventId makes a resend harmless.
        const c = loaded.state.current;
        if (c && c.credentialId === credentialIdFor(commandId) && c.status === 'active') await this.notifyReady(risk, c.credentialId, c.expiresAt);
        return done();
      }
      if (this.d.clock && this.d.clock.now() >= at + policy.validityMs) {
        this.d.metrics.skip('stale');
        return done();
      }
      if (score === undefined) {
        this.warnNoHorizonScore(risk, policy.horizon!);
        this.d.metrics.skip('below-threshold');
        return done();
      }
      const outstanding = this.d.vault.outstanding(risk.userId, at);
      const verdict = preProvisionVerdict(loaded.state, { at, riskScore: score, policy, outstanding, predictedAccessTime: risk.predictedAccessTime });
      if (verdict !== 'provision') {
        this.d.metrics.skip(verdict);
        if (verdict === 'already-valid') await this.maybeScheduleRefresh(risk, loaded.state);
        return done();
      }
      const material = await this.d.minter.mint({
        commandId,
        userId: risk.userId,
        vmId: risk.vmId,
        origin: 'pre-provisioned',
        issuedAt: at,
        expiresAt: at + policy.validityMs,
      });
      mintedId = material.credentialId;
      const r = await handleCommand(this.d.store, {
        stream,
        decider: credentialDecider,
        command: {
          kind: 'PreProvision',
          at,
          userId: risk.userId,
          vmId: risk.vmId,
          riskScore: score,
          predictedAccessTime: risk.predictedAccessTime,
          modelVersion: risk.modelVersion,
          policy,
          outstanding,
          material,
        },
        commandId,
        correlationId: risk.eventId,
        causationId: risk.eventId,
        now: at,
      });
      const events = r.events.map((e) => ({ type: e.type, data: e.data }) as CredentialEvent);
      events.forEach((e) => this.d.metrics.observe(e));
      if (!events.some((e) => e.type === 'CredentialPreProvisioned' && e.data.credentialId === material.credentialId)) {
        this.d.vault.delete(material.credentialId); // lost a race to another writer: nothing references it
        return done();
      }
      for (const e of events) if (e.type === 'CredentialExpired') this.dropExpired(e.data.credentialId);
      await this.notifyReady(risk, material.credentialId, at + policy.validityMs);
      this.log.info('credential pre-provisioned', { userId: risk.userId, vmId: risk.vmId, credentialId: material.credentialId, riskScore: score, horizon: policy.horizon ?? risk.horizon });
      return done();
    } catch (err) {
      if (mintedId) this.d.vault.delete(mintedId);
      if (err instanceof InvalidInputError) return toDlq('invalid', failureReason(err));
      if (!isRetriable(err)) return retry(err);
      return this.recordFailure(risk, err, commandId);
    }
  }

  /** Once per model version and horizon: a mismatch would otherwise log on every record. */
  private warnNoHorizonScore(risk: AccessRisk, horizon: string): void {
    const key = `${risk.modelVersion}/${horizon}`;
    if (this.warnedHorizons.has(key)) return;
    this.warnedHorizons.add(key);
    this.log.warn('risk record has no score for the policy horizon; nothing is pre-provisioned on it', {
      horizon,
      modelVersion: risk.modelVersion,
      scored: Object.keys(risk.horizonScores ?? {}),
    });
  }

  private notifyReady(risk: AccessRisk, credentialId: string, expiresAt: number): Promise<void> {
    return this.d.notifier.notify({
      eventId: `credential-ready:${credentialId}`,
      timestamp: risk.timestamp,
      userId: risk.userId,
      kind: 'CREDENTIAL_READY',
      vmId: risk.vmId,
      message: `Access to ${risk.vmId} is ready ahead of time, valid until ${new Date(expiresAt).toISOString()}.`,
      scheduledFor: null,
    });
  }

  /** A valid credential that expires before the predicted access will be refreshed on request: say so. */
  private async maybeScheduleRefresh(risk: AccessRisk, s: CredentialState): Promise<void> {
    const c = validCredential(s, risk.timestamp);
    if (!c || risk.predictedAccessTime === null || risk.predictedAccessTime < c.expiresAt) return;
    await this.d.notifier.notify({
      eventId: `refresh-scheduled:${c.credentialId}`,
      timestamp: risk.timestamp,
      userId: risk.userId,
      kind: 'CREDENTIAL_REFRESH_SCHEDULED',
      vmId: risk.vmId,
      message: `Your credential for ${risk.vmId} expires before your expected access; a fresh one is issued when you ask.`,
      scheduledFor: c.expiresAt,
    });
  }

  /**
   * Pre-provisioning failed on a dependency (HSM, event store, vault). The user is not blocked:
   * their request will take the on-demand path. Record the failure, alert once per window, warn
   * the user of a likely delay, and move on (done) rather than hold the partition.
   */
  private async recordFailure(risk: AccessRisk, err: unknown, commandId: string): Promise<Outcome> {
    const reason = failureReason(err);
    const rule = this.d.config.alerts;
    const at = risk.timestamp;
    this.log.warn('pre-provisioning failed', { userId: risk.userId, vmId: risk.vmId, reason });
    let alert: { id: string; count: number } | undefined;
    let count: number;
    try {
      const r = await handleCommand(this.d.store, {
        stream: credentialStream(risk.userId, risk.vmId),
        decider: credentialDecider,
        command: { kind: 'RecordFailure', at, userId: risk.userId, vmId: risk.vmId, reason, rule },
        commandId: `${commandId}:failed`,
        correlationId: risk.eventId,
        causationId: risk.eventId,
        now: at,
      });
      const events = r.events.map((e) => ({ type: e.type, data: e.data }) as CredentialEvent);
      events.forEach((e) => this.d.metrics.observe(e));
      count = r.state.failures.times.length;
      for (const e of events) if (e.type === 'PreProvisioningAlertRaised') alert = { id: e.data.alertId, count: e.data.failuresInWindow };
    } catch (storeErr) {
      if (!isRetriable(storeErr)) return retry(storeErr);
      // The event store is down too: count in memory, on the same rule, so alerts still go out.
      const key = `${risk.userId}_${risk.vmId}`;
      const noted = noteFailure(this.memoryFailures.get(key) ?? EMPTY_WINDOW, at, rule);
      this.memoryFailures.set(key, noted.window);
      count = noted.window.times.length;
      if (noted.alert) alert = { id: `preprov-failures:${key}:${at}`, count };
      this.d.metrics.failureWithoutEvent(noted.alert);
    }
    try {
      if (alert) {
        await this.d.notifier.alert({
          eventId: alert.id,
          timestamp: at,
          subject: `${risk.userId}_${risk.vmId}`,
          kind: 'PRE_PROVISIONING_FAILURES',
          severity: 'WARNING',
          message: `${alert.count} pre-provisioning failures for user ${risk.userId} on ${risk.vmId} within ${Math.round(rule.windowMs / 60000)} min; requests fall back to on-demand. Last: ${reason}`,
          details: { userId: risk.userId, vmId: risk.vmId, failuresInWindow: String(alert.count), windowMs: String(rule.windowMs), lastReason: reason },
        });
      }
      if (count === 1) {
        await this.d.notifier.notify({
          eventId: `access-delay:${risk.userId}_${risk.vmId}:${at}`,
          timestamp: at,
          userId: risk.userId,
          kind: 'ACCESS_DELAY_LIKELY',
          vmId: risk.vmId,
          message: `Your access to ${risk.vmId} could not be prepared in advance; your next request may take longer.`,
          scheduledFor: null,
        });
      }
    } catch (notifyErr) {
      return retry(notifyErr);
    }
    return done();
  }

  private dropExpired(credentialId: string): void {
    this.d.vault.delete(credentialId);
  }

  /**
   * The waste guard's sweep: every vault entry past its window is expired in its stream (unused
   * pre-provisioned ones also revoked, counted as waste), then its ciphertext deleted.
   */
  async sweep(at: number): Promise<{ expired: number; wasted: number }> {
    let expired = 0;
    let wasted = 0;
    for (const e of this.d.vault.expired(at)) {
      const r = await handleCommand(this.d.store, {
        stream: credentialStream(e.userId, e.vmId),
        decider: credentialDecider,
        command: { kind: 'Expire', at: Math.max(at, e.expiresAt) },
        commandId: `expire:${e.credentialId}`,
        now: Math.max(at, e.expiresAt),
      });
      for (const env of r.events) {
        const ev = { type: env.type, data: env.data } as CredentialEvent;
        this.d.metrics.observe(ev);
        if (ev.type === 'CredentialExpired') {
          expired++;
          if (ev.data.wasted) wasted++;
        }
      }
      this.d.vault.delete(e.credentialId);
    }
    return { expired, wasted };
  }
}
