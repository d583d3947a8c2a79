import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { InvalidInputError } from '../../core/errors';
import { ensureTls, issueClientCert } from '../../stack';

// The local CA made with the real openssl, in a private home: server and client certificates
// that a TLS 1.3 server with mutual TLS (the delivery API) can use as they are.
describe('local CA and certificates', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-certs-'));
  const cfg = { home, cacheDir: path.join(home, 'cache') };
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  test('the server certificate is signed by the CA for 127.0.0.1 and localhost; keys are private', () => {
    const t = ensureTls(cfg);
    const ca = new X509Certificate(fs.readFileSync(t.caCert));
    const server = new X509Certificate(fs.readFileSync(t.serverCert));
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    for (const f of [t.caKey, t.serverKey, t.keystore, t.keystorePasswordFile]) expect(fs.statSync(f).mode & 0o077).toBe(0);
    // a second call keeps what exists
    const again = ensureTls(cfg);
    expect(fs.readFileSync(again.serverCert).equals(fs.readFileSync(t.serverCert))).toBe(true);
  });

  test('a client certificate from issueClientCert passes a TLS 1.3 mutual-TLS handshake', async () => {
    const t = ensureTls(cfg);
    const client = issueClientCert(cfg, 'alice');
    expect(new X509Certificate(fs.readFileSync(client.cert)).subject).toBe('CN=alice');
    const server = tls.createServer({
      cert: fs.readFileSync(t.serverCert),
      key: fs.readFileSync(t.serverKey),
      ca: fs.readFileSync(t.caCert),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    }, (sock) => sock.end(`hello ${(sock.getPeerCertificate() as { subject: { CN: string } }).subject.CN}`));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        const sock = tls.connect({ host: '127.0.0.1', port, ca: fs.readFileSync(client.ca), cert: fs.readFileSync(client.cert), key: fs.readFileSync(client.key) });
        let data = '';
        sock.on('data', (d) => (data += d));
        sock.on('end', () => resolve(data));
        sock.on('error', reject);
      });
      expect(reply).toBe('hello alice');
    } finally {
      server.close();
    }
  });

  test('a client name that could escape the folder is refused', () => {
    expect(() => issueClientCert(cfg, '../evil')).toThrow(InvalidInputError);
  });
});
