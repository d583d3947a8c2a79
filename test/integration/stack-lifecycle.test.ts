import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../core/config';
import { isAlive } from '../../stack/process';

// `stack up|status|down` as a user runs them, on a private FORESIGHT_HOME. Kafka and the registry
// point at the shared stack (external: not started again); the event store and the SoftHSM2
// tokens are this home's own, so up/down really start and stop a process here.
const bin = path.join(__dirname, '..', '..', 'bin', 'foresight.js');
const exec = promisify(execFile);
const shared = loadConfig();
// Several CLI processes in a row (each loads tsx); two shared cores can be slow.
jest.setTimeout(240_000);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function cli(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [bin, 'stack', ...args], { env, timeout: 120_000 });
    return { code: 0, ...r };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function ourProcesses(home: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(home);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('stack up / status / down on a private home', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-stack-life-'));
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    env = {
      ...process.env,
      FORESIGHT_HOME: home,
      FORESIGHT_EVENTSTORE_PORT: String(await freePort()),
      KAFKA_BROKERS: shared.kafka.brokers.join(','),
      SCHEMA_REGISTRY_URL: shared.schemaRegistry.url,
    };
    delete env.EVENTSTORE_CONNECTION_STRING;
    delete env.PKCS11_MODULE;
    delete env.SOFTHSM2_CONF;
  });

  afterAll(async () => {
    await cli(env, 'down', '--purge');
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('up starts only what is ours, a second up keeps it, down leaves no process of ours', async () => {
    const first = await cli(env, 'up');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const s1 = JSON.parse((await cli(env, 'status', '--json')).stdout);
    expect(s1.kafka).toMatchObject({ healthy: true, managed: false, external: true });
    expect(s1.schemaRegistry).toMatchObject({ healthy: true, managed: false, external: true });
    expect(s1.eventStore).toMatchObject({ healthy: true, managed: true });
    expect(s1.hsm).toMatchObject({ healthy: true, managed: true });
    expect(isAlive(s1.eventStore.pid)).toBe(true);

    const second = await cli(env, 'up');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/all already running/);
    const s2 = JSON.parse((await cli(env, 'status', '--json')).stdout);
    expect(s2.eventStore.pid).toBe(s1.eventStore.pid);

    const down = await cli(env, 'down');
    expect(down.code).toBe(0);
    expect(isAlive(s1.eventStore.pid)).toBe(false);
    expect(ourProcesses(home)).toEqual([]);
    // data and tokens stay without --purge
    expect(fs.existsSync(path.join(home, 'hsm-tokens.json'))).toBe(true);
    const after = await cli(env, 'status', '--json');
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout).eventStore.healthy).toBe(false);
  });

  test('a port taken by something else is one line naming the port and the variable', async () => {
    const blocker = net.createServer((sock) => sock.destroy());
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await cli({ ...env, FORESIGHT_EVENTSTORE_PORT: String(port) }, 'up');
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`port ${port} (event store) is taken by another program`);
      expect(r.stderr).toContain('FORESIGHT_EVENTSTORE_PORT');
    } finally {
      blocker.close();
    }
  });
});
