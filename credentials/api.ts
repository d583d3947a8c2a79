import { randomUUID, type KeyObject } from 'node:crypto';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Clock } from '../core/clock';
import { ForbiddenError, ForesightError, InvalidInputError, isRetriable } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import type { Health } from '../core/role';
import type { DeliveryService } from './delivery';
import type { KeyRevocation } from './key-revocation';
import { isValidId } from './events';
import type { CredentialMetrics } from './metrics';
import { failureReason } from './provisioner';
import { verifyToken } from './tokens';

/**
 * The delivery API: HTTPS, TLS 1.3 only. Callers authenticate with a client certificate from the
 * local CA (mutual TLS) or, when token keys are configured, an ES256 bearer token (tokens.ts).
 * The identity is the certificate's CN or the token's sub: `user.<userId>` for a user, `admin`
 * or `admin.<name>` for an administrator. A user gets only its own credentials; only admins revoke.
 *
 *   POST /v1/access-requests   {"userId","vmId"} → {"source","credential","issuedAt","expiresAt",...}
 *        optional header Idempotency-Key: a retried request gets the same answer
 *        Authorization: Bearer <ES256 JWT> instead of a client certificate, when configured
 *   POST /v1/revocations       {"userId","vmId","reason"}  (admin) → {"revoked", "credentialId"}
 *   POST /v1/key-revocations   {"userId","reason"}  (admin) → {"revoked","fingerprint","credentialsRevoked"}
 *   GET  /healthz, GET /metrics (Prometheus text), GET / (dashboard)  — no client certificate needed
 */
export type Caller = { kind: 'user'; userId: string } | { kind: 'admin'; name: string };

export function callerFromCommonName(cn: string | undefined): Caller | undefined {
  if (!cn) return undefined;
  if (cn === 'admin') return { kind: 'admin', name: 'admin' };
  if (cn.startsWith('admin.') && cn.length > 6) return { kind: 'admin', name: cn.slice(6) };
  if (cn.startsWith('user.') && isValidId(cn.slice(5))) return { kind: 'user', userId: cn.slice(5) };
  return undefined;
}

export interface ApiOptions {
  tls: { key: string | Buffer; cert: string | Buffer; ca: string | Buffer };
  delivery: DeliveryService;
  metrics: CredentialMetrics;
  clock: Clock;
  health?: () => Promise<Health>;
  log?: Logger;
  /** Public keys of the bearer-token issuer; none = client certificates only. */
  tokenKeys?: readonly KeyObject[];
  /** Admins' key-pair revocation (POST /v1/key-revocations); absent: the route answers 404. */
  keyRevocation?: KeyRevocation;
  /** The operator dashboard (dashboard/): asked first; true when it served the request. */
  dashboard?: { handle(req: IncomingMessage, res: ServerResponse): boolean };
}

const MAX_BODY = 8 * 1024;

class HttpError extends ForesightError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('HTTP', message);
  }
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; version=0.0.4; charset=utf-8' : 'application/json',
    'cache-control': 'no-store',
    'strict-transport-security': 'max-age=31536000',
    ...headers,
  });
  res.end(text);
}

function dashboard(m: CredentialMetrics): string {
  const s = m.snapshot();
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const row = (k: string, v: string | number) => `<tr><th>${k}</th><td>${v}</td></tr>`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Foresight credentials</title></head><body>
<h1>Foresight — credential delivery</h1><table>
${row('hit rate', pct(s.hitRate))}${row('waste rate', pct(s.wasteRate))}
${row('requests pre-provisioned', s.requests['pre-provisioned'])}${row('requests refreshed', s.requests.refreshed)}${row('requests on demand', s.requests['on-demand'])}
${row('pre-provisioned', s.preProvisioned)}${row('wasted', s.wasted)}${row('pre-provisioning failures', s.failures)}${row('alerts', s.alerts)}
</table></body></html>`;
}

function callerOf(req: IncomingMessage, tokenKeys: readonly KeyObject[], now: number): Caller {
  const sock = req.socket as TLSSocket;
  if (sock.authorized) {
    const caller = callerFromCommonName(sock.getPeerCertificate()?.subject?.CN as string | undefined);
    if (!caller) throw new HttpError(403, 'client certificate CN must be user.<userId>, admin or admin.<name>');
    return caller;
  }
  const auth = req.headers.authorization;
  if (tokenKeys.length && typeof auth === 'string' && auth.startsWith('Bearer ')) {
    const sub = verifyToken(auth.slice(7).trim(), tokenKeys, now);
    if (!sub) throw new HttpError(401, 'the bearer token is invalid or expired');
    const caller = callerFromCommonName(sub);
    if (!caller) throw new HttpError(403, 'token sub must be user.<userId>, admin or admin.<name>');
    return caller;
  }
  throw new HttpError(401, tokenKeys.length ? 'a client certificate from the Foresight CA or a bearer token is required' : 'a client certificate from the Foresight CA is required');
}

function str(body: Record<string, unknown>, k: string): string {
  const v = body[k];
  if (!isValidId(v)) throw new HttpError(400, `"${k}" must be 1-128 of A-Z a-z 0-9 . _ : @ -`);
  return v;
}

export function createDeliveryServer(o: ApiOptions): https.Server {
  const log = o.log ?? silentLogger;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const route = `${req.method} ${url.pathname}`;
    if (o.dashboard?.handle(req, res)) return;
    switch (route) {
      case 'GET /healthz': {
        const h = o.health ? await o.health() : {};
        const ok = Object.values(h).every((c) => c.ok);
        return send(res, ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', checks: h });
      }
      case 'GET /metrics':
        return send(res, 200, o.metrics.prometheus());
      case 'GET /':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return void res.end(dashboard(o.metrics));
      case 'POST /v1/access-requests': {
        const caller = callerOf(req, o.tokenKeys ?? [], o.clock.now());
        const body = await readJson(req);
        const userId = str(body, 'userId');
        const vmId = str(body, 'vmId');
        if (caller.kind !== 'user' || caller.userId !== userId) throw new ForbiddenError('a user may request only its own credentials');
        const key = req.headers['idempotency-key'];
        const requestId = typeof key === 'string' && isValidId(key) ? key : randomUUID();
        const reply = await o.delivery.requestAccess({ userId, vmId, requestId, at: o.clock.now() });
        log.info('access request served', { userId, vmId, source: reply.source, credentialId: reply.credentialId, requestId });
        return send(res, 200, { ...reply, requestId });
      }
      case 'POST /v1/revocations': {
        const caller = callerOf(req, o.tokenKeys ?? [], o.clock.now());
        if (caller.kind !== 'admin') throw new ForbiddenError('only administrators revoke credentials');
        const body = await readJson(req);
        const userId = str(body, 'userId');
        const vmId = str(body, 'vmId');
        const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim() : 'revoked by an administrator';
        const key = req.headers['idempotency-key'];
        const commandId = `revoke:${typeof key === 'string' && isValidId(key) ? key : randomUUID()}`;
        const r = await o.delivery.revoke(userId, vmId, 'admin', `${reason} (by ${caller.name})`, o.clock.now(), commandId);
        return send(res, 200, r);
      }
      case 'POST /v1/key-revocations': {
        if (!o.keyRevocation) throw new HttpError(404, `no route ${route}`);
        const caller = callerOf(req, o.tokenKeys ?? [], o.clock.now());
        if (caller.kind !== 'admin') throw new ForbiddenError('only administrators revoke key pairs');
        const body = await readJson(req);
        const userId = str(body, 'userId');
        const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim() : 'revoked by an administrator';
        const key = req.headers['idempotency-key'];
        const commandId = `keyrevoke:${typeof key === 'string' && isValidId(key) ? key : randomUUID()}`;
        const r = await o.keyRevocation.revoke(userId, `${reason} (by ${caller.name})`, o.clock.now(), commandId);
        log.info('user key pair revoked', { userId, fingerprint: r.fingerprint, credentialsRevoked: r.credentialsRevoked, by: caller.name });
        return send(res, 200, r);
      }
      default:
        throw new HttpError(404, `no route ${route}`);
    }
  };

  return https.createServer(
    {
      key: o.tls.key,
      cert: o.tls.cert,
      ca: o.tls.ca,
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      // Certificates are checked per route (callerOf), so /healthz and /metrics stay reachable for probes.
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        if (err instanceof HttpError) return send(res, err.status, { error: err.message });
        if (err instanceof ForbiddenError) return send(res, 403, { error: err.message });
        if (err instanceof InvalidInputError) return send(res, 400, { error: err.message });
        if (isRetriable(err)) {
          log.warn('access request failed on a dependency', { error: err });
          return send(res, 503, { error: failureReason(err) }, { 'retry-after': '1' });
        }
        log.error('access request failed', { error: err });
        send(res, 500, { error: 'internal error; see the API log' });
      });
    },
  );
}

export function listen(server: https.Server, port: number, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
