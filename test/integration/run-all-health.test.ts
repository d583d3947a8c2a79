/**
 * `foresight run --role all` as one process on the real stack: /healthz reports every
 * dependency ready, /metrics serves the process's registry (lag, roles), SIGTERM stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import { ensureDemoModel } from '../../demo/model';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
const TINY = { users: 6, vms: 4, networks: 1, days: 4, seed: 3, epochs: 1, workloadEpochs: 1 };

describe('run --role all', () => {
  it('given every role in one process, then /healthz is 200 with each dependency ready, /metrics has lag and roles, and SIGTERM exits 0', async () => {
    const cfg = loadConfig();
    const model = await ensureDemoModel(cfg.home, TINY, () => undefined);
    const ns = `t-runall-${randomUUID().slice(0, 8)}`;
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/foresight.js'), 'run', '--role', 'all', '--namespace', ns, '--group-prefix', `${ns}-`, '--model', model.dir, '--api-port', '0', '--ops-port', '0'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      const deadline = Date.now() + 180_000;
      let port: number | undefined;
      while (!port && Date.now() < deadline) {
        const m = /running; metrics http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
        if (m) port = Number(m[1]);
        else if (child.exitCode !== null) throw new Error(`run exited ${child.exitCode}: ${err}`);
        else await new Promise((r) => setTimeout(r, 250));
      }
      expect(port).toBeDefined();
      let health: { ok: boolean; dependencies: Record<string, { ok: boolean }>; roles: Record<string, unknown> } | undefined;
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        health = (await res.json()) as typeof health;
        if (res.status === 200) break;
        await new Promise((r) => setTimeout(r, 1000)); // the first lag sample may still be on its way
      }
      expect(health!.ok).toBe(true);
      for (const dep of ['kafka', 'schemaRegistry', 'eventStore', 'hsm', 'model']) expect(health!.dependencies[dep]).toEqual(expect.objectContaining({ ok: true }));
      expect(Object.keys(health!.roles).sort()).toEqual(['api', 'hsm', 'projections', 'provisioner', 'scorer']);
      // Lag is sampled every few seconds: wait for the first sample after the topics exist.
      const lagLine = `foresight_consumer_lag{group="${ns}-foresight-scorer",topic="${ns}.features.access"}`;
      let metrics = '';
      for (let i = 0; i < 30 && !metrics.includes(lagLine); i++) {
        metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        if (!metrics.includes(lagLine)) await new Promise((r) => setTimeout(r, 1000));
      }
      expect(metrics).toContain('foresight_role_up{role="api"} 1');
      expect(metrics).toContain(lagLine);
      expect(metrics).toContain('# TYPE foresight_access_request_seconds histogram');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
