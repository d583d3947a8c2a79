import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatStatus } from '../../cli/commands/stack';
import { allHealthy, type StackStatus } from '../../stack';
import { parseJavaMajor } from '../../stack/deps';
import { newClusterId, serverProperties } from '../../stack/kafka';
import { layout } from '../../stack/layout';
import { waitUntil, withLock } from '../../stack/process';
import { registryJvmArgs } from '../../stack/registry';
import { softhsmConfText } from '../../stack/softhsm';

const props = serverProperties({ port: 9192, controllerPort: 9193, sslPort: 9194, logDir: '/d/kafka', keystore: '/t/server.p12', keystorePassword: 'pw' });
const prop = (k: string) => props.split('\n').find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1);

describe('Kafka server.properties', () => {
  test('one combined KRaft node on the configured ports', () => {
    expect(prop('process.roles')).toBe('broker,controller');
    expect(prop('controller.quorum.voters')).toBe('1@127.0.0.1:9193');
    expect(prop('listeners')).toBe('PLAINTEXT://127.0.0.1:9192,CONTROLLER://127.0.0.1:9193,SSL://127.0.0.1:9194');
    expect(prop('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:9192,SSL://127.0.0.1:9194');
    expect(prop('offsets.topic.replication.factor')).toBe('1');
    expect(prop('transaction.state.log.min.isr')).toBe('1');
    expect(prop('log.dirs')).toBe('/d/kafka');
  });

  test('the SSL listener speaks TLS 1.3 only', () => {
    expect(prop('ssl.enabled.protocols')).toBe('TLSv1.3');
    expect(prop('ssl.protocol')).toBe('TLSv1.3');
    expect(prop('ssl.keystore.type')).toBe('PKCS12');
  });

  test('a cluster id is 16 bytes in base64url, like StorageTool random-uuid', () => {
    const id = newClusterId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Buffer.from(id, 'base64url')).toHaveLength(16);
  });
});

describe('Apicurio and SoftHSM2 settings', () => {
  test('the registry keeps schemas in an H2 file under the data dir and binds to loopback', () => {
    const args = registryJvmArgs({ port: 8181, dataDir: '/h/data/registry' });
    expect(args).toContain('-Dquarkus.http.port=8181');
    expect(args).toContain('-Dquarkus.http.host=127.0.0.1');
    expect(args).toContain('-Dapicurio.datasource.url=jdbc:h2:file:/h/data/registry/registry');
    expect(args).toContain('-Dquarkus.management.port=0');
  });

  test('the SoftHSM2 config points at the checkout-local token dir', () => {
    expect(softhsmConfText('/h/softhsm/tokens')).toMatch(/^directories\.tokendir = \/h\/softhsm\/tokens$/m);
  });

  test('data, secrets and logs live under FORESIGHT_HOME; downloads under the cache', () => {
    const l = layout({ home: '/h', cacheDir: '/c' });
    expect(l.kafkaData).toBe('/h/data/kafka');
    expect(l.secrets).toBe('/h/secrets');
    expect(l.kafkaLibs).toBe('/c/kafka-3.9.1/libs');
    expect(l.apicurioDir.startsWith('/c/')).toBe(true);
  });
});

const comp = (healthy: boolean) => ({ healthy, managed: true, external: false, pid: 42 });
const status = (over: Partial<Record<'kafka' | 'reg' | 'es' | 'hsm', boolean>> = {}, esAvailable = true): StackStatus => ({
  kafka: { ...comp(over.kafka ?? true), brokers: ['127.0.0.1:9092'] },
  schemaRegistry: { ...comp(over.reg ?? true), url: 'http://127.0.0.1:8081/apis/ccompat/v7' },
  eventStore: { ...comp(over.es ?? true), connectionString: 'esdb://127.0.0.1:2113?tls=false', available: esAvailable },
  hsm: { ...comp(over.hsm ?? true), module: '/usr/lib/softhsm/libsofthsm2.so', tokens: ['foresight-vault'] },
});

describe('stack status', () => {
  test('given every component healthy, then the stack is healthy', () => {
    expect(allHealthy(status())).toBe(true);
  });
  test('given an unhealthy registry, then the stack is not', () => {
    expect(allHealthy(status({ reg: false }))).toBe(false);
  });
  test('given no event store in this checkout yet, then that alone does not make it unhealthy', () => {
    expect(allHealthy(status({ es: false }, false))).toBe(true);
    expect(formatStatus(status({ es: false }, false))).toMatch(/event store\s+n\/a\s+not available yet/);
  });
  test('the human format names each component, its health and who runs it', () => {
    const text = formatStatus(status({ kafka: false }));
    expect(text).toMatch(/^kafka\s+DOWN\s+127\.0\.0\.1:9092 \(managed, pid 42\)/m);
    expect(text).toMatch(/^hsm\s+healthy/m);
  });
});

describe('java version', () => {
  test.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "25.0.3" 2026-04-21 LTS', 25],
    ['java version "1.8.0_392"', 8],
    ['openjdk version "21" 2023-09-19', 21],
    ['bash: java: command not found', undefined],
  ])('given "%s", then the major version is %s', (text, major) => {
    expect(parseJavaMajor(text)).toBe(major);
  });
});

describe('process helpers', () => {
  test('waitUntil gives up with the last error', async () => {
    const r = await waitUntil(async () => {
      throw new Error('refused');
    }, { timeoutMs: 0, intervalMs: 1 });
    expect(r).toEqual({ ok: false, lastError: 'refused' });
  });

  test('withLock runs one holder at a time and takes over a lock left by a dead process', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stack-lock-'));
    const file = path.join(dir, 'stack.lock');
    fs.writeFileSync(file, '999999999'); // no such pid
    const order: string[] = [];
    await Promise.all([
      withLock(file, async () => {
        order.push('a+');
        await new Promise((r) => setTimeout(r, 30));
        order.push('a-');
      }),
      withLock(file, async () => {
        order.push('b+');
        order.push('b-');
      }),
    ]);
    expect(order.join(' ')).toMatch(/^(a\+ a- b\+ b-|b\+ b- a\+ a-)$/);
    expect(fs.existsSync(file)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
