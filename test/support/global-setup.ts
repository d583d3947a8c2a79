import { loadConfig } from '../../core/config';
import { allHealthy, layout, up, useLocalSoftHsm } from '../../stack';
import { takeLease } from './leases';

/**
 * Brings the local real stack up once per jest run (integration and slow projects), reusing
 * whatever already runs. Env set here (SOFTHSM2_CONF) reaches the test workers, which are
 * started after this.
 */
export default async function globalSetup(): Promise<void> {
  const cfg = loadConfig();
  const t0 = Date.now();
  const say = (line: string) => process.stderr.write(`[stack] ${line}\n`);
  const r = await up(cfg, say);
  if (!allHealthy(r.status)) {
    const bad = Object.entries(r.status)
      .filter(([, c]) => !c.healthy && (c as { available?: boolean }).available !== false)
      .map(([k, c]) => `${k}: ${c.error ?? 'unhealthy'}`);
    throw new Error(`local stack is not healthy (${bad.join('; ')}); see ${layout(cfg).logs}`);
  }
  useLocalSoftHsm(cfg);
  takeLease(layout(cfg).run, r.started);
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s${r.started.length ? ` (started ${r.started.join(', ')})` : ' (reused)'}`);
}
