/**
 * Issue 10 item 1, crash safety of the role that writes the event store: `foresight run --role
 * provisioner` (its own process) consumes risk.access and is killed with SIGKILL at random
 * points — after a random number of pre-provisioned credentials or a random delay — ten times,
 * restarted each time, while scores keep arriving. Afterwards the event store holds exactly what
 * an uninterrupted run holds (one CredentialPreProvisioned per pair, nothing else, nothing twice),
 * each CREDENTIAL_READY notification has one eventId per pair however often it was resent, and
 * nothing was dead-lettered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';
import { EsdbEventStore } from '../../eventstore/client';
import type { AccessRisk, UserNotification } from '../../schemas';
import { createProducer, createSerde, ensureStreams, physicalTopic, readTopic } from '../../streams';
import { seeded } from '../support/chaos';

const KILLS = 10;
const PAIRS = 50;
const ROOT = path.resolve(__dirname, '..', '..');
const cfg = loadConfig();
jest.setTimeout(600_000);

function spawnProvisioner(ns: string): { child: ChildProcess; provisioned: () => number; stderr: () => string } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/foresight.js'), 'run', '--role', 'provisioner', '--namespace', ns, '--group-prefix', `${ns}-`, '--ops-port', '0', '--instance-id', 'victim'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  let n = 0;
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    const s = d.toString('utf8');
    n += s.split('credential pre-provisioned').length - 1;
    tail = (tail + s).slice(-3000);
  });
  return { child, provisioned: () => n, stderr: () => tail };
}

const killHard = (c: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill('SIGKILL');
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reliability: the provisioner role killed with SIGKILL ten times', () => {
  it('given scores consumed across ten kill -9 and restarts, then the event store holds exactly what an uninterrupted run holds', async () => {
    const run = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
    const ns = `relcrash${run}`;
    const random = seeded(1);
    const users = Array.from({ length: PAIRS }, (_, i) => `crash${run}-u${String(i).padStart(2, '0')}`);
    const t0 = Date.now();
    const risk = (userId: string, i: number): AccessRisk => ({
      eventId: `risk:${userId}:${i}`, timestamp: t0 + i, userId, vmId: 'vm-c', riskScore: 0.95, horizon: 'PT1H', horizonScores: { PT1H: 0.95 }, predictedAccessTime: t0 + 600_000, modelVersion: 'crash-1',
    });
    await ensureStreams(cfg, { namespace: ns, topics: ['risk.access', 'alerts.admin', 'notifications.user'] });
    const producer = createProducer({ kafka: cfg.kafka, registryUrl: cfg.schemaRegistry.url, namespace: ns });
    const store = EsdbEventStore.connect(cfg.eventStore.connectionString);
    const perCycle = Math.ceil(PAIRS / KILLS);
    const kills: Array<{ afterProvisioned: number | null; afterMs: number | null }> = [];
    try {
      let sent = 0;
      for (let k = 0; k < KILLS; k++) {
        const batch = users.slice(sent, sent + perCycle);
        await producer.send('risk.access', batch.map((u, i) => ({ key: u, value: risk(u, sent + i) })));
        sent += batch.length;
        const p = spawnProvisioner(ns);
        const byCount = random() < 0.5;
        const target = 1 + Math.floor(random() * perCycle);
        // By delay: from the first credential it makes, so the kill lands in its work, not in its start-up.
        const delay = Math.floor(random() * 1500);
        const deadline = Date.now() + 60_000;
        while (p.provisioned() < (byCount ? target : 1) && p.child.exitCode === null && Date.now() < deadline) await sleep(20);
        if (!byCount) await sleep(delay);
        await killHard(p.child);
        kills.push(byCount ? { afterProvisioned: p.provisioned(), afterMs: null } : { afterProvisioned: null, afterMs: delay });
      }
      // A last instance runs to the end, as a supervisor would restart it.
      const last = spawnProvisioner(ns);
      try {
        const types = async (u: string) => {
          const out: string[] = [];
          for await (const e of store.readStream(`credential-${u}_vm-c`)) out.push(e.type);
          return out;
        };
        const deadline = Date.now() + 240_000;
        let missing = users;
        while (missing.length) {
          if (Date.now() > deadline) throw new Error(`${missing.length} pairs never provisioned; role stderr: ${last.stderr()}`);
          await sleep(1000);
          const done = await Promise.all(missing.map(async (u) => (await types(u)).includes('CredentialPreProvisioned')));
          missing = missing.filter((_, i) => !done[i]);
        }
        await sleep(2000);
        process.stdout.write(`provisioner crash test: kills ${JSON.stringify(kills)}\n`);

        // Exactly an uninterrupted run's events: one CredentialPreProvisioned per pair, each command once.
        const wrong: string[] = [];
        for (const u of users) {
          const evs: Array<{ type: string; commandId?: string }> = [];
          for await (const e of store.readStream(`credential-${u}_vm-c`)) evs.push({ type: e.type, commandId: (e.metadata as { commandId?: string } | undefined)?.commandId });
          if (evs.map((e) => e.type).join(',') !== 'CredentialPreProvisioned') wrong.push(`${u}: ${evs.map((e) => e.type).join(',')}`);
        }
        expect(wrong).toEqual([]);

        // Notifications may be resent after a kill (at least once), never under a new eventId.
        const serde = createSerde({ registryUrl: cfg.schemaRegistry.url });
        const raw = await readTopic(cfg.kafka, physicalTopic('notifications.user', ns), { fromBeginning: true, idleMs: 2000, timeoutMs: 60_000 });
        const ready = new Set<string>();
        for (const m of raw) {
          const n = (await serde.decode('notifications.user', m.value)).value as UserNotification;
          if (n.kind === 'CREDENTIAL_READY') ready.add(n.eventId);
        }
        expect(ready.size).toBe(PAIRS);
        const dlq = await readTopic(cfg.kafka, `${physicalTopic('risk.access', ns)}.dlq`, { fromBeginning: true, idleMs: 1500, timeoutMs: 20_000 });
        expect(dlq).toHaveLength(0);
      } finally {
        await killHard(last.child);
      }
    } finally {
      await producer.disconnect();
      await store.close();
    }
  });
});
