import * as fs from 'node:fs';
import { loadConfig } from '../../core/config';
import { ConfigError } from '../../core/errors';
import { DeliveryClient } from '../../credentials/client';
import { isValidId } from '../../credentials/events';
import { issueClientCert, tlsPaths } from '../../stack/certs';
import { has, parseArgs, requireStr, str, UsageError } from '../args';

export const summary = 'asks the delivery API for a credential (printed sealed, never in plaintext)';

const USAGE = 'foresight request-access --user U --vm V [--json] [--url URL] [--cert PEM --key PEM | --token-file F] [--ca PEM] [--idempotency-key K]';

export const help = `usage: ${USAGE}

Asks the delivery API (POST /v1/access-requests) for user U's credential on VM V and prints
which path served it: pre-provisioned (ready before the request), refreshed (an expired one
renewed) or on-demand (made now). The credential comes sealed for the user's HSM key pair
(RSA-OAEP wrapping AES-256-GCM); only that key opens it. --json prints the whole reply.

  --url URL             the API (default https://127.0.0.1:$FORESIGHT_API_PORT, port 8443)
  --cert/--key PEM      the user's client certificate; default: one for CN user.U issued by the
                        local stack's CA under FORESIGHT_HOME/tls/clients (made on first use)
  --token-file F        a file holding a bearer token (ES256 JWT, sub user.U) to use instead of a
                        certificate, when the API accepts tokens (FORESIGHT_API_TOKEN_KEYS)
  --ca PEM              the CA that signed the server (default: the local stack's)
  --idempotency-key K   a retried request with the same key gets the same answer`;

function pem(file: string, flag: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch {
    throw new ConfigError(`--${flag} ${file}: cannot read it; point it at a readable ${flag === 'token-file' ? 'token' : 'PEM'} file`);
  }
}

export async function run(argv: string[]): Promise<number> {
  const a = parseArgs(argv, { values: ['user', 'vm', 'url', 'cert', 'key', 'ca', 'idempotency-key', 'token-file'], switches: ['json'] }, USAGE);
  if (a.positional.length) throw new UsageError(`unexpected argument "${a.positional[0]}"; usage: ${USAGE}`);
  const user = requireStr(a, 'user', USAGE);
  const vm = requireStr(a, 'vm', USAGE);
  if (!isValidId(user) || !isValidId(vm)) throw new UsageError('--user and --vm must be 1-128 of A-Z a-z 0-9 . _ : @ -');
  if ((str(a, 'cert') === undefined) !== (str(a, 'key') === undefined)) throw new UsageError(`--cert and --key go together; usage: ${USAGE}`);
  const cfg = loadConfig();
  const url = str(a, 'url') ?? `https://127.0.0.1:${cfg.ports.api}`;
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url ${url} is not a URL; use e.g. https://127.0.0.1:8443`);
  }
  const tokenFile = str(a, 'token-file');
  if (tokenFile && str(a, 'cert')) throw new UsageError(`--token-file and --cert are alternatives; usage: ${USAGE}`);
  let certFile = str(a, 'cert');
  let keyFile = str(a, 'key');
  let caFile = str(a, 'ca');
  if (tokenFile) {
    caFile ??= tlsPaths(cfg).caCert;
  } else if (!certFile || !keyFile || !caFile) {
    const issued = issueClientCert(cfg, `user.${user}`);
    certFile ??= issued.cert;
    keyFile ??= issued.key;
    caFile ??= issued.ca;
  }
  // The token is a secret: it comes from a file, never from argv.
  const token = tokenFile ? pem(tokenFile, 'token-file').toString('utf8').trim() : undefined;
  const client = new DeliveryClient({
    baseUrl: url,
    ca: pem(caFile, 'ca'),
    ...(token ? { token } : { cert: pem(certFile!, 'cert'), key: pem(keyFile!, 'key') }),
  });
  try {
    const r = await client.requestAccess(user, vm, str(a, 'idempotency-key'));
    if (has(a, 'json')) {
      console.log(JSON.stringify(r));
    } else {
      const made = r.origin && r.origin !== r.source ? ` (made ${r.origin === 'on-demand' ? 'on demand' : r.origin} earlier)` : '';
      console.log(`${r.source}${made}: credential ${r.credentialId} for ${user} on ${vm}, issued ${r.issuedAt}, valid until ${r.expiresAt}`);
      console.log(`sealed ${r.credential.alg} for key ${r.credential.kid.slice(0, 16)}…; open it with the user's HSM key`);
    }
    return 0;
  } finally {
    client.close();
  }
}
