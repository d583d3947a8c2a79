import type { CredentialEvent, DeliverySource } from './events';
import type { PreProvisionVerdict } from './credential-decider';

/**
 * Credential metrics as a projection of the events this process appended (or of a history read
 * back, via observe on each), plus a few counters that have no event (skips, latency).
 *   hit rate = requests served from a credential that was ready before the request / all requests
 *   waste    = pre-provisioned credentials that expired unused / pre-provisioned credentials resolved
 *              (delivered or expired)
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
  skipped: Record<Exclude<PreProvisionVerdict, 'provision'>, number>;
  hitRate: number;
  wasteRate: number;
  latency: Record<DeliverySource, { count: number; sumMs: number }>;
}

export class CredentialMetrics {
  private requests: Record<DeliverySource, number> = { 'pre-provisioned': 0, refreshed: 0, 'on-demand': 0 };
  private latency: Record<DeliverySource, { count: number; sumMs: number }> = {
    'pre-provisioned': { count: 0, sumMs: 0 },
    refreshed: { count: 0, sumMs: 0 },
    'on-demand': { count: 0, sumMs: 0 },
  };
  private preProvisioned = 0;
  private preProvisionedDelivered = 0;
  private wasted = 0;
  private expired = 0;
  private revokedByAdmin = 0;
  private failures = 0;
  private alerts = 0;
  private skipped = { 'below-threshold': 0, 'already-valid': 0, 'user-cap': 0, 'total-cap': 0 };
  /** Pre-provisioned credentials not yet delivered: a first delivery counts once toward "used". */
  private readonly pendingPre = new Set<string>();

  observe(e: CredentialEvent): void {
    switch (e.type) {
      case 'CredentialPreProvisioned':
        this.preProvisioned++;
        this.pendingPre.add(e.data.credentialId);
        break;
      case 'CredentialDelivered':
        this.requests[e.data.source]++;
        if (this.pendingPre.delete(e.data.credentialId)) this.preProvisionedDelivered++;
        break;
      case 'CredentialExpired':
        this.expired++;
        if (e.data.wasted) this.wasted++;
        this.pendingPre.delete(e.data.credentialId);
        break;
      case 'CredentialRevoked':
        if (e.data.by === 'admin') this.revokedByAdmin++;
        break;
      case 'PreProvisioningFailed':
        this.failures++;
        break;
      case 'PreProvisioningAlertRaised':
        this.alerts++;
        break;
      case 'CredentialIssued':
      case 'CredentialRefreshed':
        break;
    }
  }

  /** A failure recorded only in memory (the event store was down). */
  failureWithoutEvent(alerted: boolean): void {
    this.failures++;
    if (alerted) this.alerts++;
  }

  skip(verdict: Exclude<PreProvisionVerdict, 'provision'>): void {
    this.skipped[verdict]++;
  }

  requestServed(source: DeliverySource, ms: number): void {
    this.latency[source].count++;
    this.latency[source].sumMs += ms;
  }

  snapshot(): MetricsSnapshot {
    const total = this.requests['pre-provisioned'] + this.requests.refreshed + this.requests['on-demand'];
    const resolved = this.preProvisionedDelivered + this.wasted;
    return {
      requests: { ...this.requests },
      preProvisioned: this.preProvisioned,
      preProvisionedDelivered: this.preProvisionedDelivered,
      wasted: this.wasted,
      expired: this.expired,
      revokedByAdmin: this.revokedByAdmin,
      failures: this.failures,
      alerts: this.alerts,
      skipped: { ...this.skipped },
      hitRate: total === 0 ? 0 : this.requests['pre-provisioned'] / total,
      wasteRate: resolved === 0 ? 0 : this.wasted / resolved,
      latency: JSON.parse(JSON.stringify(this.latency)) as MetricsSnapshot['latency'],
    };
  }
}

/** Prometheus text exposition format (version 0.0.4). */
export function prometheusText(m: MetricsSnapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  const bySource = (f: (s: DeliverySource) => number): Array<[string, number]> =>
    (['pre-provisioned', 'refreshed', 'on-demand'] as const).map((s) => [`{source="${s}"}`, f(s)]);
  metric('foresight_access_requests_total', 'counter', 'Access requests served, by the path that served them.', bySource((s) => m.requests[s]));
  metric('foresight_access_request_seconds_sum', 'counter', 'Total time serving access requests.', bySource((s) => m.latency[s].sumMs / 1000));
  metric('foresight_access_request_seconds_count', 'counter', 'Access requests timed.', bySource((s) => m.latency[s].count));
  metric('foresight_credentials_preprovisioned_total', 'counter', 'Credentials made ready before any request.', [['', m.preProvisioned]]);
  metric('foresight_credentials_preprovisioned_used_total', 'counter', 'Pre-provisioned credentials delivered at least once.', [['', m.preProvisionedDelivered]]);
  metric('foresight_credentials_wasted_total', 'counter', 'Pre-provisioned credentials that expired unused.', [['', m.wasted]]);
  metric('foresight_credentials_expired_total', 'counter', 'Credentials that reached the end of their validity window.', [['', m.expired]]);
  metric('foresight_credentials_revoked_by_admin_total', 'counter', 'Credentials revoked by an administrator.', [['', m.revokedByAdmin]]);
  metric('foresight_preprovisioning_failures_total', 'counter', 'Pre-provisioning attempts that failed.', [['', m.failures]]);
  metric('foresight_preprovisioning_alerts_total', 'counter', 'Admin alerts raised for repeated failures.', [['', m.alerts]]);
  metric(
    'foresight_preprovisioning_skipped_total',
    'counter',
    'Risk scores that did not lead to pre-provisioning, by reason.',
    Object.entries(m.skipped).map(([k, v]) => [`{reason="${k}"}`, v]),
  );
  metric('foresight_credential_hit_rate', 'gauge', 'Share of requests served from a credential ready before the request.', [['', m.hitRate]]);
  metric('foresight_credential_waste_rate', 'gauge', 'Share of resolved pre-provisioned credentials that expired unused.', [['', m.wasteRate]]);
  return lines.join('\n') + '\n';
}
