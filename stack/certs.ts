import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../core/config';
import { InvalidInputError } from '../core/errors';
import { layout, mkdirp, writePrivate } from './layout';
import { StackError } from './process';

/**
 * One local CA per FORESIGHT_HOME and a server certificate for 127.0.0.1/localhost that Kafka's
 * SSL listener, the delivery API (HTTPS) and the event store (gRPC TLS) all present. Made with
 * openssl on first start; passwords live in 0600 files and reach tools through files, not argv.
 */
export interface TlsMaterial {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** PKCS12 keystore (server key + chain) for Java servers; password in `keystorePasswordFile`. */
  keystore: string;
  /** PKCS12 truststore holding the CA, for Java clients. */
  truststore: string;
  keystorePasswordFile: string;
}

export interface ClientCert {
  commonName: string;
  cert: string;
  key: string;
  ca: string;
}

export function tlsPaths(cfg: Pick<Config, 'home' | 'cacheDir'>): TlsMaterial {
  const l = layout(cfg);
  return {
    dir: l.tls,
    caCert: path.join(l.tls, 'ca.pem'),
    caKey: path.join(l.tls, 'ca-key.pem'),
    serverCert: path.join(l.tls, 'server.pem'),
    serverKey: path.join(l.tls, 'server-key.pem'),
    keystore: path.join(l.tls, 'server.p12'),
    truststore: path.join(l.tls, 'truststore.p12'),
    keystorePasswordFile: path.join(l.secrets, 'keystore.pass'),
  };
}

function openssl(args: string[], what: string): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString().trim().split('\n')[0] ?? (e as Error).message;
    throw new StackError(`openssl could not ${what} (${err}); check that openssl 3 is installed (apt-get install openssl)`);
  }
}

/**
 * A private key's file exists, empty and 0600, before openssl writes the key into it: openssl
 * keeps an existing file's mode, so the key is never readable by others, not even for a moment.
 */
function privateOutput(file: string, write: () => void): void {
  fs.writeFileSync(file, '', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  try {
    write();
  } catch (err) {
    fs.rmSync(file, { force: true }); // an empty file must not pass for the material next start
    throw err;
  }
}

const serial = () => `0x${randomBytes(12).toString('hex')}`;

function signedCert(t: TlsMaterial, key: string, cert: string, subject: string, ext: string, days: number): void {
  const csr = `${cert}.csr`;
  const extFile = `${cert}.ext`;
  privateOutput(key, () =>
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', subject], `create a key for ${subject}`),
  );
  fs.chmodSync(key, 0o600);
  fs.writeFileSync(extFile, ext);
  openssl(['x509', '-req', '-in', csr, '-CA', t.caCert, '-CAkey', t.caKey, '-set_serial', serial(), '-days', String(days), '-sha256', '-extfile', extFile, '-out', cert], `sign a certificate for ${subject}`);
  fs.rmSync(csr, { force: true });
  fs.rmSync(extFile, { force: true });
}

/** Creates what is missing (CA, server cert, keystores); leaves existing material alone. */
export function ensureTls(cfg: Pick<Config, 'home' | 'cacheDir'>, keytool?: string): TlsMaterial {
  const t = tlsPaths(cfg);
  mkdirp(t.dir, 0o700);
  if (!fs.existsSync(t.caCert) || !fs.existsSync(t.caKey)) {
    for (const f of [t.serverCert, t.keystore, t.truststore]) fs.rmSync(f, { force: true });
    privateOutput(t.caKey, () =>
      openssl(
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', t.caKey, '-out', t.caCert, '-days', '3650', '-sha256',
          '-subj', '/CN=Foresight local CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
        'create the local CA',
      ),
    );
    fs.chmodSync(t.caKey, 0o600);
  }
  if (!fs.existsSync(t.serverCert) || !fs.existsSync(t.serverKey)) {
    fs.rmSync(t.keystore, { force: true });
    signedCert(
      t, t.serverKey, t.serverCert, '/CN=localhost',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n',
      825,
    );
  }
  if (!fs.existsSync(t.keystorePasswordFile)) {
    fs.rmSync(t.keystore, { force: true });
    fs.rmSync(t.truststore, { force: true });
    writePrivate(t.keystorePasswordFile, randomBytes(24).toString('base64url'));
  }
  if (!fs.existsSync(t.keystore)) {
    privateOutput(t.keystore, () =>
      openssl(['pkcs12', '-export', '-in', t.serverCert, '-inkey', t.serverKey, '-certfile', t.caCert, '-name', 'server', '-out', t.keystore, '-passout', `file:${t.keystorePasswordFile}`], 'write the PKCS12 keystore'),
    );
    fs.chmodSync(t.keystore, 0o600);
  }
  if (!fs.existsSync(t.truststore) && keytool) {
    // openssl 3.0 cannot mark a PKCS12 entry as trusted for Java; keytool can.
    try {
      execFileSync(keytool, ['-importcert', '-noprompt', '-storetype', 'PKCS12', '-keystore', t.truststore, '-storepass:file', t.keystorePasswordFile, '-alias', 'foresight-ca', '-file', t.caCert], { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new StackError(`keytool could not write ${t.truststore} (${(e as Error).message.split('\n')[0]}); check the JDK install`);
    }
  }
  return t;
}

const CN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * A client certificate signed by the local CA (for the delivery API's mutual TLS). Reissued
 * only when missing; the key file is 0600 and never leaves FORESIGHT_HOME.
 */
export function issueClientCert(cfg: Pick<Config, 'home' | 'cacheDir'>, commonName: string, days = 365): ClientCert {
  if (!CN.test(commonName)) throw new InvalidInputError(`client certificate name "${commonName}" must be 1-64 of A-Z a-z 0-9 . _ @ -`);
  const t = tlsPaths(cfg);
  if (!fs.existsSync(t.caCert) || !fs.existsSync(t.caKey)) ensureTls(cfg);
  const dir = mkdirp(path.join(t.dir, 'clients'), 0o700);
  const cert = path.join(dir, `${commonName}.pem`);
  const key = path.join(dir, `${commonName}-key.pem`);
  if (!fs.existsSync(cert) || !fs.existsSync(key)) {
    signedCert(t, key, cert, `/CN=${commonName}`, 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n', days);
  }
  return { commonName, cert, key, ca: t.caCert };
}
