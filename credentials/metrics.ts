import { assertNever } from '../core/event';
import { MetricsRegistry, type Counter, type Gauge, type Histogram } from '../core/metrics';
import type { PreProvisionVerdict } from './credential-decider';
import type { CredentialEvent, DeliverySource } from './events';

/**
 * Credential metrics as a projection of the events this process appended, plus counters with
 * no event behind them (skips, latency). Series live in the process's MetricsRegistry, so the
 * provisioner and API roles of one process (`run --role all`) add to the same ones.
 *   hit rate = requests served from a credential the provisioner made ahead of time / all requests
 *              (a repeat request for a credential made on demand is fast, but not a hit)
 *   waste    = pre-provisioned credentials that expired unused / pre-provisioned credentials
 *              resolved (delivered at least once, or expired unused)
 */
export interface MetricsSnapshot {
  requests: Record<DeliverySource, number>;
  preProvisioned: number;
  preProvisionedDelivered: number;
  wasted: number;
  expired: number;
  revokedByAdmin: number;
  failures: number;
  alerts: number;
  skipped: Record<SkipReason, number>;
  /** Requests served from a credential the provisioner made ahead of time. */
  hits: number;
  hitRate: number;
  wasteRate: number;
}

const SOURCES: readonly DeliverySource[] = ['pre-provisioned', 'refreshed', 'on-demand'];
const SKIPS = ['below-threshold', 'too-early', 'already-valid', 'user-cap', 'total-cap', 'stale'] as const;
export type SkipReason = (typeof SKIPS)[number];

export class CredentialMetrics {
  private readonly requests: Counter;
  private readonly hits: Counter;
  private readonly latency: Histogram;
  private readonly preProvisioned: Counter;
  private readonly used: Counter;
  private readonly wasted: Counter;
  private readonly expired: Counter;
  private readonly revokedByAdmin: Counter;
  private readonly failures: Counter;
  private readonly alerts: Counter;
  private readonly skipped: Counter;
  private readonly hitRate: Gauge;
  private readonly wasteRate: Gauge;
  /** Pre-provisioned credentials not yet delivered: a first delivery counts once as "used". */
  private readonly pendingPre = new Set<string>();

  constructor(readonly registry: MetricsRegistry = new MetricsRegistry()) {
    const r = registry;
    this.requests = r.counter('foresight_access_requests_total', 'Access requests served, by the path that served them.');
    this.hits = r.counter('foresight_access_requests_hit_total', 'Access requests served from a credential the provisioner made ahead of time.');
    this.latency = r.histogram('foresight_access_request_seconds', 'Time to serve an access request, by path.');
    this.preProvisioned = r.counter('foresight_credentials_preprovisioned_total', 'Credentials made ready before any request.');
    this.used = r.counter('foresight_credentials_preprovisioned_used_total', 'Pre-provisioned credentials delivered at least once.');
    this.wasted = r.counter('foresight_credentials_wasted_total', 'Pre-provisioned credentials that expired unused.');
    this.expired = r.counter('foresight_credentials_expired_total', 'Credentials that reached the end of their validity window.');
    this.revokedByAdmin = r.counter('foresight_credentials_revoked_by_admin_total', 'Credentials revoked by an administrator.');
    this.failures = r.counter('foresight_preprovisioning_failures_total', 'Pre-provisioning attempts that failed.');
    this.alerts = r.counter('foresight_preprovisioning_alerts_total', 'Admin alerts raised for repeated pre-provisioning failures.');
    this.skipped = r.counter('foresight_preprovisioning_skipped_total', 'Risk scores that did not lead to pre-provisioning, by reason.');
    this.hitRate = r.gauge('foresight_credential_hit_rate', 'Share of requests served from a credential pre-provisioned ahead of time.');
    this.wasteRate = r.gauge('foresight_credential_waste_rate', 'Share of resolved pre-provisioned credentials that expired unused.');
  }

  observe(e: CredentialEvent): void {
    switch (e.type) {
      case 'CredentialPreProvisioned':
        this.preProvisioned.inc();
        this.pendingPre.add(e.data.credentialId);
        break;
      case 'CredentialDelivered':
        this.requests.inc({ source: e.data.source });
        if (e.data.source === 'pre-provisioned' && (e.data.origin ?? 'pre-provisioned') === 'pre-provisioned') this.hits.inc();
        // firstUse is on the event, so the API role counts a use of what another role made;
        // events written before it are matched against what this process saw pre-provisioned.
        if (this.pendingPre.delete(e.data.credentialId) || e.data.firstUse) this.used.inc();
        break;
      case 'CredentialExpired':
        this.expired.inc();
        if (e.data.wasted) this.wasted.inc();
        this.pendingPre.delete(e.data.credentialId);
        break;
      case 'CredentialRevoked':
        if (e.data.by === 'admin') this.revokedByAdmin.inc();
        break;
      case 'PreProvisioningFailed':
        this.failures.inc();
        break;
      case 'PreProvisioningAlertRaised':
        this.alerts.inc();
        break;
      case 'CredentialIssued':
      case 'CredentialRefreshed':
        break;
      default:
        assertNever(e, 'credential event');
    }
    this.updateRates();
  }

  /** A failure counted only in memory (the event store was down). */
  failureWithoutEvent(alerted: boolean): void {
    this.failures.inc();
    if (alerted) this.alerts.inc();
  }

  skip(verdict: Exclude<PreProvisionVerdict, 'provision'> | 'stale'): void {
    this.skipped.inc({ reason: verdict });
  }

  requestServed(source: DeliverySource, ms: number): void {
    this.latency.observe(ms / 1000, { source });
  }

  private updateRates(): void {
    const s = this.snapshot();
    this.hitRate.set(s.hitRate);
    this.wasteRate.set(s.wasteRate);
  }

  snapshot(): MetricsSnapshot {
    const requests = Object.fromEntries(SOURCES.map((s) => [s, this.requests.get({ source: s })])) as Record<DeliverySource, number>;
    const total = SOURCES.reduce((n, s) => n + requests[s], 0);
    const used = this.used.get();
    const wasted = this.wasted.get();
    return {
      requests,
      preProvisioned: this.preProvisioned.get(),
      preProvisionedDelivered: used,
      wasted,
      expired: this.expired.get(),
      revokedByAdmin: this.revokedByAdmin.get(),
      failures: this.failures.get(),
      alerts: this.alerts.get(),
      skipped: Object.fromEntries(SKIPS.map((k) => [k, this.skipped.get({ reason: k })])) as MetricsSnapshot['skipped'],
      hits: this.hits.get(),
      hitRate: total === 0 ? 0 : this.hits.get() / total,
      wasteRate: used + wasted === 0 ? 0 : wasted / (used + wasted),
    };
  }

  /** Prometheus text of the whole registry (this process's other series included). */
  prometheus(): string {
    this.updateRates();
    return this.registry.render();
  }
}
