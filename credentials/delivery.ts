import { ConcurrencyError, ForesightError, InvalidInputError } from '../core/errors';
import { silentLogger, type Logger } from '../core/log';
import { backoffDelay, sleep } from '../core/retry';
import { handleCommand, loadStream, type LoadedStream } from '../eventstore/handler';
import { sealEvents } from '../eventstore/hash-chain';
import type { EventStorePort } from '../eventstore/port';
import { credentialDecider, deliveryPath, MaterialRequiredError, type CredentialState } from './credential-decider';
import { credentialStream, isValidId, type CredentialEvent, type CredentialOrigin, type DeliverySource, type RevokedBy } from './events';
import type { CredentialMetrics } from './metrics';
import type { CredentialMinter } from './minter';
import type { CredentialsConfig } from './policy';
import type { CredentialVault } from './ports';
import { sealedDigest, type SealedCredential } from './sealed';

export interface AccessReply {
  source: DeliverySource;
  /** How the credential was made (differs from source on a repeat request within its validity). */
  origin: CredentialOrigin;
  credentialId: string;
  credential: SealedCredential;
  issuedAt: string;
  expiresAt: string;
}

export interface DeliveryDeps {
  store: EventStorePort;
  minter: CredentialMinter;
  vault: CredentialVault;
  config: CredentialsConfig;
  metrics: CredentialMetrics;
  log?: Logger;
  /** Monotonic milliseconds for latency metrics (performance.now at the edge). */
  elapsed?: () => number;
  /** Backoff between rounds after a lost race (injected for tests). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const MAX_ROUNDS = 8;

/**
 * The delivery service behind POST /v1/access-requests: a valid credential is returned at once,
 * an expired one is refreshed (new password, sealed again), none is issued on demand. `at` is
 * the request's time on the deciding clock.
 */
export class DeliveryService {
  private readonly log: Logger;
  private readonly elapsed: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly d: DeliveryDeps) {
    this.log = d.log ?? silentLogger;
    this.elapsed = d.elapsed ?? (() => performance.now());
    this.sleep = d.sleep ?? sleep;
    this.random = d.random ?? Math.random;
  }

  async requestAccess(req: { userId: string; vmId: string; requestId: string; at: number }): Promise<AccessReply> {
    if (!isValidId(req.userId) || !isValidId(req.vmId)) throw new InvalidInputError('userId and vmId must be 1-128 of A-Z a-z 0-9 . _ : @ -');
    if (!isValidId(req.requestId)) throw new InvalidInputError('request id must be 1-128 of A-Z a-z 0-9 . _ : @ -');
    const t0 = this.elapsed();
    const stream = credentialStream(req.userId, req.vmId);
    const commandId = `access:${req.userId}:${req.requestId}`;
    // Another writer between our read and our append (a parallel request, the provisioner, an
    // admin) makes us read and decide again, after a short jittered pause so racers spread out.
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round > 0) await this.sleep(backoffDelay(round - 1, { initialMs: 5, maxMs: 100, random: this.random }));
      const loaded = await loadStream(this.d.store, stream, credentialDecider);
      const path = deliveryPath(loaded.state, req.at);
      if (loaded.commandIds.has(commandId)) {
        // The same request again (client retry): answer with what it was given, if still there.
        const c = loaded.state.current;
        const entry = c && this.d.vault.get(c.credentialId);
        if (c && entry) return this.reply(c.origin, c.origin, entry.sealed, c.issuedAt, c.expiresAt, c.credentialId, t0, false);
        throw new InvalidInputError(`request ${req.requestId} was answered before and its credential is gone; send a new request id`);
      }
      if (path === 'pre-provisioned') {
        const c = loaded.state.current!;
        const entry = this.d.vault.get(c.credentialId);
        if (!entry || sealedDigest(entry.sealed) !== c.ciphertextDigest) {
          await this.revoke(req.userId, req.vmId, 'system', 'ciphertext missing from the vault', req.at, `${commandId}:lost`);
          continue;
        }
        const r = await this.decide(loaded, stream, req, commandId);
        if (!r) continue;
        const delivered = r.find((e) => e.type === 'CredentialDelivered');
        if (!delivered || delivered.data.credentialId !== c.credentialId) continue;
        this.d.vault.markDelivered(c.credentialId);
        return this.reply('pre-provisioned', c.origin, entry.sealed, c.issuedAt, c.expiresAt, c.credentialId, t0, true);
      }
      const issuedAt = req.at;
      const expiresAt = req.at + this.d.config.onDemandValidityMs;
      const material = await this.d.minter.mint({ commandId: `${commandId}:${round}`, userId: req.userId, vmId: req.vmId, origin: path === 'on-demand' ? 'on-demand' : 'refreshed', issuedAt, expiresAt });
      let events: CredentialEvent[] | undefined;
      try {
        events = await this.decide(loaded, stream, req, commandId, material);
      } catch (err) {
        this.d.vault.delete(material.credentialId);
        throw err;
      }
      const delivered = events?.find((e) => e.type === 'CredentialDelivered');
      if (!delivered || delivered.data.credentialId !== material.credentialId) {
        this.d.vault.delete(material.credentialId); // the path changed under us; decide again
        continue;
      }
      for (const e of events!) if (e.type === 'CredentialExpired') this.d.vault.delete(e.data.credentialId);
      const entry = this.d.vault.get(material.credentialId);
      if (!entry) throw new ForesightError('VAULT', `credential ${material.credentialId} vanished from the vault right after it was written`);
      return this.reply(delivered.data.source, delivered.data.origin ?? (path === 'on-demand' ? 'on-demand' : 'refreshed'), entry.sealed, issuedAt, expiresAt, material.credentialId, t0, true);
    }
    throw new ForesightError('DELIVERY_CONFLICT', `credential for ${req.userId} on ${req.vmId} kept changing during the request; retry it`, { retriable: true });
  }

  /**
   * Decides on the state just read and appends at its revision: the handler's steps without its
   * second read, which a pre-provisioned hit would otherwise pay for. Undefined when another
   * writer got in between (the caller reads again and decides again).
   */
  private async decide(
    loaded: LoadedStream<CredentialState>,
    stream: string,
    req: { userId: string; vmId: string; requestId: string; at: number },
    commandId: string,
    material?: { credentialId: string; keyFingerprint: string; ciphertextDigest: string },
  ): Promise<CredentialEvent[] | undefined> {
    let events: CredentialEvent[];
    try {
      events = [
        ...credentialDecider.decide(
          { kind: 'RequestAccess', at: req.at, userId: req.userId, vmId: req.vmId, requestId: req.requestId, validityMs: this.d.config.onDemandValidityMs, material },
          loaded.state,
        ),
      ];
    } catch (err) {
      if (err instanceof MaterialRequiredError) return undefined;
      throw err;
    }
    const sealed = sealEvents(events, {
      stream,
      lastRevision: loaded.head.revision,
      lastHash: loaded.head.hash,
      commandId,
      correlationId: commandId,
      causationId: commandId,
      occurredAt: new Date(req.at),
    });
    try {
      await this.d.store.append(
        stream,
        sealed.map((e) => ({ id: e.id, type: e.type, data: e.data, metadata: { ...e.metadata } })),
        loaded.head.revision < 0 ? 'no_stream' : loaded.head.revision,
      );
    } catch (err) {
      if (err instanceof ConcurrencyError) return undefined;
      throw err;
    }
    events.forEach((e) => this.d.metrics.observe(e));
    return events;
  }

  private reply(
    source: DeliverySource,
    origin: CredentialOrigin,
    sealed: SealedCredential,
    issuedAt: number,
    expiresAt: number,
    credentialId: string,
    t0: number,
    fresh: boolean,
  ): AccessReply {
    if (fresh) this.d.metrics.requestServed(source, this.elapsed() - t0);
    return { source, origin, credentialId, credential: sealed, issuedAt: new Date(issuedAt).toISOString(), expiresAt: new Date(expiresAt).toISOString() };
  }

  /** Admin revocation (and 'system' replacement of an unservable credential); idempotent. */
  async revoke(userId: string, vmId: string, by: RevokedBy, reason: string, at: number, commandId: string): Promise<{ revoked: boolean; credentialId?: string }> {
    if (!isValidId(userId) || !isValidId(vmId)) throw new InvalidInputError('userId and vmId must be 1-128 of A-Z a-z 0-9 . _ : @ -');
    const r = await handleCommand(this.d.store, {
      stream: credentialStream(userId, vmId),
      decider: credentialDecider,
      command: { kind: 'Revoke', at, by, reason: reason.slice(0, 200) },
      commandId,
      now: at,
    });
    const events = r.events.map((e) => ({ type: e.type, data: e.data }) as CredentialEvent);
    events.forEach((e) => this.d.metrics.observe(e));
    const rev = events.find((e) => e.type === 'CredentialRevoked');
    if (rev) {
      this.d.vault.delete(rev.data.credentialId);
      this.log.info('credential revoked', { userId, vmId, credentialId: rev.data.credentialId, by });
    }
    return { revoked: Boolean(rev), credentialId: rev?.data.credentialId };
  }
}
