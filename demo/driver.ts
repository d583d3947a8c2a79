import * as fs from 'node:fs';
import type { Config } from '../core/config';
import type { Logger } from '../core/log';
import { DeliveryClient } from '../credentials/client';
import type { CredentialOrigin, DeliverySource } from '../credentials/events';
import { issueClientCert } from '../stack/certs';
import type { AccessRequest } from './scenario';

export interface RequestResult extends AccessRequest {
  source?: DeliverySource;
  /** How the serving credential was made: a fast 'pre-provisioned' source is a hit only if this is too. */
  origin?: CredentialOrigin;
  credentialId?: string;
  /** Wall milliseconds from sending to the reply, as the user waited. */
  ms: number;
  error?: string;
}

/**
 * Users asking for access, as real ones would: each over mutual TLS with its own client
 * certificate (CN user.<id>, issued by the local CA), at the simulated moment the telemetry
 * says. The telemetry's eventId goes as the Idempotency-Key, so the API's log line and the
 * credential's events carry the same correlation id.
 */
export class AccessDriver {
  readonly results: RequestResult[] = [];
  private readonly clients = new Map<string, DeliveryClient>();
  private readonly queue: AccessRequest[] = [];
  private inFlight = 0;
  private idle: Array<() => void> = [];

  constructor(
    private readonly o: { config: Config; baseUrl: string; correlationPrefix: string; log: Logger; concurrency?: number; onResult?: (r: RequestResult) => void },
  ) {}

  private client(userId: string): DeliveryClient {
    let c = this.clients.get(userId);
    if (!c) {
      const cert = issueClientCert(this.o.config, `user.${userId}`);
      c = new DeliveryClient({ baseUrl: this.o.baseUrl, cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key), ca: fs.readFileSync(cert.ca), timeoutMs: 30_000 });
      this.clients.set(userId, c);
    }
    return c;
  }

  /** Issues the users' certificates up front, so the first request does not pay for openssl. */
  prepare(userIds: Iterable<string>): void {
    for (const u of userIds) this.client(u);
  }

  request(r: AccessRequest): void {
    this.queue.push(r);
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < (this.o.concurrency ?? 8) && this.queue.length) {
      const r = this.queue.shift()!;
      this.inFlight++;
      void this.send(r).finally(() => {
        this.inFlight--;
        this.pump();
        if (!this.inFlight && !this.queue.length) for (const f of this.idle.splice(0)) f();
      });
    }
  }

  private async send(r: AccessRequest): Promise<void> {
    const requestId = `${this.o.correlationPrefix}${r.eventId}`;
    const t0 = process.hrtime.bigint();
    let res: RequestResult;
    try {
      const reply = await this.client(r.userId).requestAccess(r.userId, r.vmId, requestId);
      res = { ...r, source: reply.source, origin: reply.origin, credentialId: reply.credentialId, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
      this.o.log.debug('access request answered', { requestId, userId: r.userId, vmId: r.vmId, source: reply.source, origin: reply.origin, ms: res.ms });
    } catch (err) {
      res = { ...r, ms: Number(process.hrtime.bigint() - t0) / 1e6, error: err instanceof Error ? err.message : String(err) };
      this.o.log.warn('access request failed', { requestId, userId: r.userId, vmId: r.vmId, error: err });
    }
    this.results.push(res);
    this.o.onResult?.(res);
  }

  /** Resolves when every request sent so far has its answer. */
  drain(): Promise<void> {
    if (!this.inFlight && !this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
