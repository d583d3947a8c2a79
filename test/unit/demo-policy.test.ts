import { parseCredentialsConfig } from '../../credentials/policy';
import type { RequestResult } from '../../demo/driver';
import { DEMO_POLICY, demoPolicyYaml } from '../../demo/policy';
import { renderSummary, requestStats, type DemoSnapshot } from '../../demo/stats';
import * as YAML from 'yaml';

const HOUR = 3_600_000;

describe('the demo policy', () => {
  it('given the threshold asked for, then the file it writes loads as a policy on that horizon, valid as long', () => {
    const cfg = parseCredentialsConfig(YAML.parse(demoPolicyYaml(0.3)));
    expect(cfg.default).toMatchObject({ horizon: DEMO_POLICY.horizon, threshold: 0.3, validityMs: 8 * HOUR });
  });
});

describe('demo hit counting', () => {
  const r = (source: RequestResult['source'], origin: RequestResult['origin'], credentialId: string): RequestResult => ({ at: 0, userId: 'u', vmId: 'v', eventId: credentialId, source, origin, credentialId, ms: 5 });

  it('given fast replies from credentials made ahead and by earlier requests, then only the former are hits', () => {
    const s = requestStats([
      r('pre-provisioned', 'pre-provisioned', 'c1'),
      r('pre-provisioned', 'pre-provisioned', 'c1'),
      r('pre-provisioned', 'on-demand', 'c2'),
      r('on-demand', 'on-demand', 'c2'),
    ]);
    expect(s).toMatchObject({ hits: 2, repeats: 1, usedAhead: 1, hitRate: 0.5 });
    expect(s.bySource['pre-provisioned']).toBe(3);
  });

  it('given credentials neither used nor expired at the end, then the summary shows them beside the waste and names the horizon', () => {
    const snap: DemoSnapshot = {
      simNow: 2 * HOUR, liveStart: 0, liveEnd: 2 * HOUR, speedup: 360, wallElapsedMs: 20_000, wallTotalMs: 20_000, published: 10, publishedByTopic: {},
      features: { access: 1, network: 1, late: 0 }, risk: { access: 5, live: 3, workload: 2, high: 1, threshold: 0.3, horizon: 'PT8H', delayP50: 600_000 },
      credentials: { preProvisioned: 10, used: 4, wasted: 2, skipped: {} }, requests: requestStats([r('pre-provisioned', 'pre-provisioned', 'c1')]), hsm: {},
      alerts: { count: 0 }, notifications: 0, follow: false,
    };
    const out = renderSummary(snap, { namespace: 'demo-r0', dashboard: 'https://127.0.0.1:8443/', logFile: '/x.log', stackRunning: true }).join('\n');
    expect(out).toContain('waste 33% (2 expired unused of 6 resolved); 4 still valid and unused at the end');
    expect(out).toContain('1 of them with a PT8H score at or above 0.3');
    expect(out).toContain('1 hits (a credential made ahead of time); 0 more served fast');
  });
});
