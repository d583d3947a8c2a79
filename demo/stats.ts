import type { DeliverySource } from '../credentials/events';
import type { RequestResult } from './driver';

/** Pure readers of the Prometheus text of the process's registry (what /metrics serves). */
export function metricValues(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    let valuePart: string;
    if (rest.startsWith('{')) {
      const end = rest.lastIndexOf('}');
      labels = Object.fromEntries([...rest.slice(1, end).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      valuePart = rest.slice(end + 1);
    } else if (rest.startsWith(' ')) valuePart = rest;
    else continue; // a longer metric name sharing the prefix
    const value = Number(valuePart.trim());
    if (Number.isFinite(value)) out.push({ labels, value });
  }
  return out;
}

export function sumMetric(text: string, name: string, where: Record<string, string> = {}): number {
  return metricValues(text, name)
    .filter((v) => Object.entries(where).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
}

export function byLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of metricValues(text, name)) {
    const k = v.labels[label] ?? '';
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export interface RequestStats {
  total: number;
  answered: number;
  errors: number;
  bySource: Record<DeliverySource, number>;
  /** Served from a credential the provisioner made ahead of time (the product's hit, as in credentials/metrics.ts). */
  hits: number;
  /** Served fast from a credential an earlier request of the same user made: quick, but not foresight. */
  repeats: number;
  /** Distinct credentials made ahead of time that served at least one request. */
  usedAhead: number;
  /** hits / answered. */
  hitRate: number;
  p50: number;
  p99: number;
  latency: Record<DeliverySource, { p50: number; p99: number }>;
}

export function requestStats(results: readonly RequestResult[]): RequestStats {
  const sources: DeliverySource[] = ['pre-provisioned', 'refreshed', 'on-demand'];
  const ok = results.filter((r) => r.source);
  const bySource = Object.fromEntries(sources.map((s) => [s, ok.filter((r) => r.source === s).length])) as Record<DeliverySource, number>;
  // A reply without an origin comes from an API older than it: the source decides, as in the metrics.
  const hitResults = ok.filter((r) => r.source === 'pre-provisioned' && (r.origin ?? 'pre-provisioned') === 'pre-provisioned');
  const hits = hitResults.length;
  const ms = (rs: readonly RequestResult[]) => rs.map((r) => r.ms).sort((a, b) => a - b);
  const all = ms(ok);
  const latency = Object.fromEntries(
    sources.map((s) => {
      const l = ms(ok.filter((r) => r.source === s));
      return [s, { p50: quantile(l, 0.5), p99: quantile(l, 0.99) }];
    }),
  ) as RequestStats['latency'];
  return {
    total: results.length,
    answered: ok.length,
    errors: results.length - ok.length,
    bySource,
    hits,
    repeats: bySource['pre-provisioned'] - hits,
    usedAhead: new Set(hitResults.map((r) => r.credentialId ?? r.eventId)).size,
    hitRate: ok.length ? hits / ok.length : NaN,
    p50: quantile(all, 0.5),
    p99: quantile(all, 0.99),
    latency,
  };
}

/** Everything the live view and the summary show, gathered in one place. */
export interface DemoSnapshot {
  simNow: number;
  liveStart: number;
  liveEnd: number;
  speedup: number;
  wallElapsedMs: number;
  wallTotalMs: number;
  published: number;
  publishedByTopic: Record<string, number>;
  features: { access: number; network: number; late: number };
  /** delayP50: simulated ms from a live window's end to its score (NaN before any). */
  risk: { access: number; live: number; workload: number; high: number; threshold: number; horizon?: string; delayP50: number };
  credentials: { preProvisioned: number; used: number; wasted: number; skipped: Record<string, number> };
  requests: RequestStats;
  lastRequest?: RequestResult;
  hsm: Record<string, number>;
  alerts: { count: number; last?: string };
  notifications: number;
  follow: boolean;
}

const fmtMs = (x: number) => (Number.isFinite(x) ? (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(1)} ms`) : '-');
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '-');
const iso = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
const atOrAbove = (s: DemoSnapshot) => `${s.risk.horizon ? `with a ${s.risk.horizon} score ` : ''}at or above ${s.risk.threshold}`;
const clockOf = (ms: number) => `${Math.floor(ms / 60000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;

/** The live view: a block of lines redrawn in place on a terminal. */
export function renderView(s: DemoSnapshot): string[] {
  const frac = Math.max(0, Math.min(1, (s.simNow - s.liveStart) / (s.liveEnd - s.liveStart)));
  const bar = `[${'#'.repeat(Math.round(frac * 24)).padEnd(24, '.')}]`;
  const r = s.requests;
  const skips = Object.entries(s.credentials.skipped).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ');
  const hsm = Object.entries(s.hsm).map(([k, n]) => `${k} ${n}`).join(', ') || 'no forecasts handled yet';
  const last = s.lastRequest
    ? `    last: ${s.lastRequest.userId} → ${s.lastRequest.vmId}: ${s.lastRequest.source ?? `failed (${s.lastRequest.error})`} in ${fmtMs(s.lastRequest.ms)}`
    : '    last: -';
  return [
    `simulated ${iso(s.simNow)} UTC  ${bar} ${(frac * 100).toFixed(0).padStart(3)}%  ×${Math.round(s.speedup)}  wall ${clockOf(s.wallElapsedMs)}${s.follow ? '' : ` / ${clockOf(s.wallTotalMs)}`}`,
    `  telemetry in        ${s.published} records (${Object.entries(s.publishedByTopic).map(([t, n]) => `${t.replace('telemetry.', '')} ${n}`).join(', ')})`,
    `  features            access ${s.features.access}, network ${s.features.network}, late ${s.features.late}`,
    `  risk events         access ${s.risk.access} (live ${s.risk.live}, ${s.risk.high} of them ${atOrAbove(s)}), workload ${s.risk.workload}`,
    `  pre-provisioned     ${s.credentials.preProvisioned} credentials, ${s.credentials.used} used, ${s.credentials.wasted} expired unused${skips ? `; skipped: ${skips}` : ''}`,
    `  access requests     ${r.total}: hits ${r.hits}, fast repeats ${r.repeats}, refreshed ${r.bySource.refreshed}, on-demand ${r.bySource['on-demand']}${r.errors ? `, failed ${r.errors}` : ''}  hit rate ${pct(r.hitRate)}  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)}`,
    last,
    `  HSM forecasts       ${hsm}`,
    `  alerts              ${s.alerts.count}${s.alerts.last ? ` (last: ${s.alerts.last})` : ''}; user notifications ${s.notifications}`,
  ];
}

export function renderSummary(s: DemoSnapshot, where: { namespace: string; dashboard: string; opsUrl?: string; logFile: string; stackRunning: boolean }): string[] {
  const r = s.requests;
  const resolved = s.credentials.used + s.credentials.wasted;
  // Made late in the day with a long validity, these have neither been used nor expired yet:
  // the waste rate cannot count them, so they are shown beside it.
  const open = Math.max(0, s.credentials.preProvisioned - resolved);
  const lat = (src: DeliverySource) => `${src.padEnd(16)} ${String(r.bySource[src]).padStart(4)}   p50 ${fmtMs(r.latency[src].p50).padStart(9)}   p99 ${fmtMs(r.latency[src].p99).padStart(9)}`;
  return [
    '',
    `Summary: ${iso(s.liveStart)} .. ${iso(s.follow ? s.simNow : Math.min(s.simNow, s.liveEnd))} UTC simulated in ${clockOf(s.wallElapsedMs)} wall (×${Math.round(s.speedup)})`,
    `  access requests   ${r.total} (${r.errors} failed)   hit rate ${pct(r.hitRate)}   p50 ${fmtMs(r.p50)}   p99 ${fmtMs(r.p99)}`,
    `    ${r.hits} hits (a credential made ahead of time); ${r.repeats} more served fast from one an earlier request made (not counted as hits)`,
    `    ${lat('pre-provisioned')}`,
    `    ${lat('refreshed')}`,
    `    ${lat('on-demand')}`,
    `  pre-provisioned   ${s.credentials.preProvisioned} credentials; waste ${resolved ? pct(s.credentials.wasted / resolved) : '-'} (${s.credentials.wasted} expired unused of ${resolved} resolved)${open ? `; ${open} still valid and unused at the end` : ''}`,
    `  features          ${s.features.access} access, ${s.features.network} network windows; ${s.features.late} telemetry records late`,
    `  not pre-provisioned ${Object.entries(s.credentials.skipped).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ') || '-'} (scores skipped, by reason)`,
    `  risk events       ${s.risk.access} access scores (${s.risk.live} of live windows, ${s.risk.high} of them ${atOrAbove(s)}), ${s.risk.workload} workload forecasts; a window's score arrives ${Number.isFinite(s.risk.delayP50) ? `${Math.round(s.risk.delayP50 / 60_000)} simulated min` : '-'} after it ends (p50)`,
    `  HSM allocations   ${s.hsm.allocate ?? 0} made ahead of the predicted peak (lead time before it); forecasts by plan: ${Object.entries(s.hsm).map(([k, n]) => `${k} ${n}`).join(', ') || '-'}`,
    !s.hsm.allocate && s.hsm.hold ? '                    (hold: the capacity is already in place; allocations persist in the event store across runs, see npx foresight hsm pool)' : null,
    `  alerts            ${s.alerts.count}${s.alerts.last ? ` (last: ${s.alerts.last})` : ''}`,
    '',
    'Where to look next:',
    `  npx foresight audit replay --category credential --since ${new Date(s.liveStart).toISOString()}   # what happened to each credential`,
    `  npx foresight audit replay --category allocation                  # HSM allocations`,
    `  npx foresight alerts tail --from-beginning --namespace ${where.namespace} --timeout 5          # admin alerts of this run`,
    `  dashboard ${where.dashboard}${where.opsUrl ? `   metrics ${where.opsUrl}/metrics   health ${where.opsUrl}/healthz` : ''} (while the demo runs; --follow keeps it up)`,
    `  logs (JSON lines) ${where.logFile}`,
    where.stackRunning ? '  the local stack keeps running; stop it with: npx foresight stack down' : null,
  ].filter((l): l is string => l !== null);
}
