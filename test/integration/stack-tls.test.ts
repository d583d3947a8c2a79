import * as fs from 'node:fs';
import * as tls from 'node:tls';
import { loadConfig } from '../../core/config';
import { kafkaHealth, kafkaSslCa } from '../../stack';

// Kafka's SSL listener of the local stack accepts TLS 1.3 only, with a certificate from the local CA.
const cfg = loadConfig();
const port = cfg.ports.kafkaSsl;

function handshake(opts: tls.ConnectionOptions): Promise<{ protocol: string | null; authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => {
      const r = { protocol: sock.getProtocol(), authorized: sock.authorized };
      sock.end();
      resolve(r);
    });
    sock.once('error', reject);
  });
}

describe('Kafka SSL listener', () => {
  const caFile = kafkaSslCa(cfg);
  const ca = caFile ? fs.readFileSync(caFile) : undefined;

  test('the local CA is known', () => {
    expect(ca).toBeDefined();
  });

  test('a TLS 1.3 client connects and verifies the broker certificate', async () => {
    const r = await handshake({ ca, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(r).toEqual({ protocol: 'TLSv1.3', authorized: true });
  });

  test('a TLS 1.2-only client is refused', async () => {
    await expect(handshake({ ca, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).rejects.toThrow(/protocol|version|alert|handshake|socket/i);
  });

  test('kafkajs gets cluster metadata over the SSL listener', async () => {
    const h = await kafkaHealth([`127.0.0.1:${port}`], { ssl: { ca, servername: 'localhost' }, timeoutMs: 10_000 });
    expect(h.error).toBeUndefined();
    expect(h.healthy).toBe(true);
  });
});
