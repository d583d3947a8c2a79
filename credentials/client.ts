import * as https from 'node:https';
import { ForbiddenError, ForesightError, InvalidInputError, UnavailableError } from '../core/errors';
import type { AccessReply } from './delivery';

/**
 * A client of the delivery API (the CLI, tests, the benchmark). TLS 1.3 only, with a client
 * certificate; keep-alive so repeated requests measure the service, not the handshake.
 */
export interface ApiClientOptions {
  baseUrl: string;
  /** Client certificate and key, or a bearer token (ES256 JWT) instead. */
  cert?: string | Buffer;
  key?: string | Buffer;
  token?: string;
  ca: string | Buffer;
  timeoutMs?: number;
}

export class DeliveryClient {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(private readonly o: ApiClientOptions) {
    this.base = new URL(o.baseUrl);
    this.agent = new https.Agent({ keepAlive: true, cert: o.cert, key: o.key, ca: o.ca, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}),
            ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
            ...headers,
          },
          timeout: this.o.timeoutMs ?? 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new UnavailableError('delivery API', `no answer from ${this.base.origin} within ${this.o.timeoutMs ?? 15_000} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof ForesightError) return reject(err);
        if (err.code === 'ECONNREFUSED') {
          return reject(new UnavailableError('delivery API', `nothing listens on ${this.base.host}; start it with 'npx foresight run --role api'`, err));
        }
        reject(new UnavailableError('delivery API', `${err.code ?? 'error'} talking to ${this.base.origin}: ${err.message}`, err));
      });
      req.end(data);
    });
  }

  async requestAccess(userId: string, vmId: string, idempotencyKey?: string): Promise<AccessReply & { requestId: string }> {
    const r = await this.request('POST', '/v1/access-requests', { userId, vmId }, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
    return parse(r) as AccessReply & { requestId: string };
  }

  async revoke(userId: string, vmId: string, reason: string): Promise<{ revoked: boolean; credentialId?: string }> {
    return parse(await this.request('POST', '/v1/revocations', { userId, vmId, reason })) as { revoked: boolean; credentialId?: string };
  }

  async revokeKey(userId: string, reason: string): Promise<{ revoked: boolean; fingerprint?: string; credentialsRevoked: number }> {
    return parse(await this.request('POST', '/v1/key-revocations', { userId, reason })) as { revoked: boolean; fingerprint?: string; credentialsRevoked: number };
  }

  close(): void {
    this.agent.destroy();
  }
}

function parse(r: { status: number; text: string }): unknown {
  let body: { error?: string } = {};
  try {
    body = JSON.parse(r.text) as { error?: string };
  } catch {
    // a non-JSON answer (a proxy, another server on the port): reported by status below
  }
  if (r.status === 200) return body;
  const msg = body.error ?? `HTTP ${r.status}`;
  if (r.status === 401) throw new ForbiddenError(`delivery API refused: ${msg}; pass --cert/--key of a certificate signed by the local CA`);
  if (r.status === 403) throw new ForbiddenError(`delivery API refused: ${msg}; use the certificate of that user (CN user.<userId>) or an admin one`);
  if (r.status === 400 || r.status === 404 || r.status === 413) throw new InvalidInputError(`delivery API: ${msg}`);
  if (r.status === 503) throw new UnavailableError('delivery API', `${msg}; retry in a moment`);
  throw new ForesightError('DELIVERY_API', `delivery API answered ${r.status}: ${msg}`);
}
