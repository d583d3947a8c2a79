/**
 * Credential delivery: what pre-provisioning buys. All figures in one run, on the local stack's
 * event store and its vault token in SoftHSM2, requests over HTTPS (TLS 1.3, mutual TLS, keep-alive).
 * - request latency p50/p99, pre-provisioned hit vs on-demand for a new user (the cold case: the
 *   key pair is generated in the HSM during the request), and vs on-demand for a user who already
 *   has a key pair (password, seal and events only);
 * - credentials pre-provisioned per second (sequential, through the provisioner's own path: event
 *   store read + append, password, seal, vault) vs RSA-2048 key pairs generated per second in the
 *   same token, the cost a design with one key pair per credential would pay.
 * Keys this run creates in the vault token are destroyed at the end.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { systemClock } from '../core/clock';
import { loadConfig } from '../core/config';
import { MetricsRegistry } from '../core/metrics';
import { createDeliveryServer, listen } from '../credentials/api';
import { DeliveryClient } from '../credentials/client';
import { DeliveryService } from '../credentials/delivery';
import type { Notifier } from '../credentials/ports';
import { Provisioner } from '../credentials/provisioner';
import { openCredentialsRuntime } from '../credentials/role';
import { issueClientCert, tlsPaths } from '../stack/certs';
import type { Benchmark, BenchResult } from './types';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

const silentNotifier: Notifier = { alert: async () => {}, notify: async () => {} };

export const benchmark: Benchmark = {
  id: 'credentials',
  needs: ['eventstore', 'hsm'],
  async run(ctx) {
    const cfg = loadConfig();
    const tag = `bench-${ctx.runId.replace(/[^A-Za-z0-9-]/g, '')}`;
    const hitUsers = ctx.quick ? 4 : 10;
    const vmsPerUser = ctx.quick ? 3 : 10;
    const coldUsers = ctx.quick ? 4 : 15;
    const warmRequests = ctx.quick ? 6 : 40;
    const keygens = ctx.quick ? 4 : 15;

    const vaultDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-vault-'));
    const rt = await openCredentialsRuntime(cfg, new MetricsRegistry(), { vaultDir });
    const t = tlsPaths(cfg);
    const delivery = new DeliveryService({ store: rt.store, minter: rt.minter, vault: rt.vault, config: rt.config, metrics: rt.metrics });
    const server = createDeliveryServer({
      tls: { cert: fs.readFileSync(t.serverCert), key: fs.readFileSync(t.serverKey), ca: fs.readFileSync(t.caCert) },
      delivery,
      metrics: rt.metrics,
      clock: systemClock,
    });
    const port = await listen(server, 0);
    const clients = new Map<string, DeliveryClient>();
    const clientFor = (u: string) => {
      let c = clients.get(u);
      if (!c) {
        const cert = issueClientCert(cfg, `user.${u}`);
        c = new DeliveryClient({ baseUrl: `https://127.0.0.1:${port}`, cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key), ca: fs.readFileSync(cert.ca) });
        clients.set(u, c);
      }
      return c;
    };
    const timedRequest = async (u: string, vm: string, expect: string): Promise<number> => {
      const t0 = performance.now();
      const r = await clientFor(u).requestAccess(u, vm);
      const ms = performance.now() - t0;
      if (r.source !== expect) throw new Error(`bench: ${u}/${vm} served ${r.source}, expected ${expect}`);
      return ms;
    };

    try {
      // Baseline for throughput: raw key-pair generation in the same token (session objects).
      const k0 = performance.now();
      for (let i = 0; i < keygens; i++) {
        const pair = await rt.hsm.generateRsaKeyPair({ label: `${tag}/keygen`, persistent: false });
        await rt.hsm.destroy(pair.privateKey);
        await rt.hsm.destroy(pair.publicKey);
      }
      const keygenPerSec = keygens / ((performance.now() - k0) / 1000);
      ctx.log(`RSA-2048 key pairs: ${keygenPerSec.toFixed(1)}/s`);

      // Users get their key pair first (the provisioner does it once per user, not per credential).
      const users = Array.from({ length: hitUsers }, (_, i) => `${tag}-u${i}`);
      for (const u of users) await rt.custodian.ensure(u, Date.now());
      // Caps high enough for the run: the figure is the provisioning path, not the waste guard.
      const config = { ...rt.config, default: { ...rt.config.default, threshold: 0.5, maxOutstandingPerUser: 10_000, maxOutstandingTotal: 1_000_000 }, policies: [] };
      const provisioner = new Provisioner({ store: rt.store, minter: rt.minter, vault: rt.vault, notifier: silentNotifier, config, metrics: rt.metrics });
      const p0 = performance.now();
      let made = 0;
      for (const u of users) {
        for (let v = 0; v < vmsPerUser; v++) {
          const at = Date.now();
          const outcome = await provisioner.handleRisk(
            { eventId: `${tag}:${u}:${v}`, timestamp: at, userId: u, vmId: `vm-${v}`, riskScore: 0.99, horizon: 'PT1H', horizonScores: {}, predictedAccessTime: null, modelVersion: 'bench' },
            `${tag}:${u}:${v}`,
          );
          if (outcome.kind !== 'done') throw new Error(`bench: pre-provisioning ${u}/vm-${v} ended ${outcome.kind}`);
          made++;
        }
      }
      const provisionedPerSec = made / ((performance.now() - p0) / 1000);
      if (rt.metrics.snapshot().preProvisioned !== made) throw new Error(`bench: ${made} scores gave ${rt.metrics.snapshot().preProvisioned} credentials`);
      ctx.log(`pre-provisioned ${made} credentials: ${provisionedPerSec.toFixed(1)}/s`);

      // Warm-up: TLS handshakes and JIT, so the figures measure requests, not the first connection.
      for (const u of users) await clientFor(u).request('GET', '/healthz');

      const hits: number[] = [];
      for (let v = 0; v < vmsPerUser; v++) for (const u of users) hits.push(await timedRequest(u, `vm-${v}`, 'pre-provisioned'));
      const warm: number[] = [];
      for (let i = 0; i < warmRequests; i++) warm.push(await timedRequest(users[i % users.length], `od-${i}`, 'on-demand'));
      const cold: number[] = [];
      for (let i = 0; i < coldUsers; i++) {
        const u = `${tag}-new${i}`;
        await clientFor(u).request('GET', '/healthz');
        cold.push(await timedRequest(u, 'vm-0', 'on-demand'));
      }

      const lat = (name: string, q: number, base: number[], versus: string, baseName: string): BenchResult => {
        const b = quantile(base, q);
        const s = quantile(hits, q);
        return {
          name: `Access request ${name}: pre-provisioned hit vs on-demand ${versus}`,
          baseline: baseName,
          baselineValue: +b.toFixed(2),
          subjectValue: +s.toFixed(2),
          unit: `ms ${name}`,
          ratio: +(b / s).toFixed(2),
          higherIsBetter: false,
          note: `ratio = baseline / subject (times faster); ${hits.length} hits, ${base.length} baseline requests, HTTPS TLS 1.3 mTLS keep-alive`,
        };
      };
      return [
        lat('p50', 0.5, cold, '(new user)', 'on-demand for a new user (RSA-2048 key pair generated in SoftHSM2 during the request)'),
        lat('p99', 0.99, cold, '(new user)', 'on-demand for a new user (RSA-2048 key pair generated in SoftHSM2 during the request)'),
        lat('p50', 0.5, warm, '(key pair exists)', 'on-demand for a user with a key pair (password, seal, events)'),
        lat('p99', 0.99, warm, '(key pair exists)', 'on-demand for a user with a key pair (password, seal, events)'),
        {
          name: 'Credentials pre-provisioned per second (sequential)',
          baseline: 'RSA-2048 key pairs generated per second in the same token (one key pair per credential)',
          baselineValue: +keygenPerSec.toFixed(2),
          subjectValue: +provisionedPerSec.toFixed(2),
          unit: 'credentials/s',
          ratio: +(provisionedPerSec / keygenPerSec).toFixed(2),
          higherIsBetter: true,
          note: 'each credential: event-store read + append, CSPRNG password, RSA-OAEP + AES-256-GCM seal, vault write',
        },
      ];
    } finally {
      for (const c of clients.values()) c.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      try {
        for (const k of await rt.hsm.findKeys({ labelPrefix: `userkey/${tag}-` })) await rt.hsm.destroy(k);
      } finally {
        await rt.close();
        fs.rmSync(vaultDir, { recursive: true, force: true });
        for (const u of clients.keys()) {
          const dir = path.join(t.dir, 'clients');
          fs.rmSync(path.join(dir, `user.${u}.pem`), { force: true });
          fs.rmSync(path.join(dir, `user.${u}-key.pem`), { force: true });
        }
      }
    }
  },
};
