/**
 * One role of the pipeline as its own process, for crash tests that kill -9 it: the same role
 * starters `foresight run` uses, on a private event store and SoftHSM2 (from the environment),
 * with the clock fixed, so two runs over the same input decide the same.
 *
 *   node --import tsx test/support/pipeline-child.ts --role R --namespace NS --group-prefix P
 *     --instance ID --clock-at MS [--model DIR] [--pool FILE] [--vault-dir DIR]
 *
 * Environment: EVENTSTORE_CONNECTION_STRING, SOFTHSM2_CONF, FORESIGHT_CREDENTIALS_POLICY,
 * CRASH_VAULT_TOKEN and CRASH_VAULT_PIN (a PIN never goes on argv). Prints `started <role>` on
 * stdout once the role runs; logs go to stderr.
 */
import { parseArgs } from 'node:util';
import { ManualClock } from '../../core/clock';
import { loadConfig } from '../../core/config';
import { createLogger } from '../../core/log';
import { MetricsRegistry } from '../../core/metrics';
import type { RoleContext, RunningRole } from '../../core/role';
import { startProvisionerRole } from '../../credentials/role';
import { openPkcs11Module } from '../../hsm/pkcs11';
import type { HsmModule } from '../../hsm/ports';
import { startHsmRole } from '../../hsm/role';
import { startScorerRole } from '../../models/scorer/role';
import { startProjectionsRole } from '../../roles/projections';

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      role: { type: 'string' },
      namespace: { type: 'string' },
      'group-prefix': { type: 'string' },
      instance: { type: 'string' },
      'clock-at': { type: 'string' },
      model: { type: 'string' },
      pool: { type: 'string' },
      'vault-dir': { type: 'string' },
    },
  });
  const config = loadConfig();
  const log = createLogger({ role: a.role });
  const ctx: RoleContext = { config, log, metrics: new MetricsRegistry(), clock: new ManualClock(Number(a['clock-at'])), groupPrefix: a['group-prefix'] ?? '' };
  const namespace = a.namespace;
  const instanceId = a.instance;
  let mod: HsmModule | undefined;
  let role: RunningRole;
  switch (a.role) {
    case 'projections':
      role = await startProjectionsRole(ctx, { namespace, instanceId, idleMs: 3_600_000 });
      break;
    case 'scorer':
      role = await startScorerRole(ctx, { modelDir: a.model, namespace, instanceId });
      break;
    case 'provisioner':
      mod = openPkcs11Module(config.hsm.module);
      role = await startProvisionerRole(ctx, { namespace, hsmModule: mod, tokenLabel: process.env.CRASH_VAULT_TOKEN, pin: process.env.CRASH_VAULT_PIN, vaultDir: a['vault-dir'], sweepEveryMs: 1000 });
      break;
    case 'hsm':
      mod = openPkcs11Module(config.hsm.module);
      // Lead-time waits fire on a wall-clock tick, interleaving with the consumer differently in
      // every run: never firing them keeps two runs comparable.
      role = await startHsmRole(ctx, { poolFile: a.pool, namespace, hsmModule: mod, fromBeginning: true, tickMs: 3_600_000 });
      break;
    default:
      throw new Error(`unknown role ${a.role}`);
  }
  process.stdout.write(`started ${a.role}\n`);
  process.once('SIGTERM', () => {
    void role
      .stop()
      .then(() => mod?.close())
      .finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`pipeline-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
