/**
 * Helpers for the reliability and security suites: seeded randomness and malformed records
 * built from valid ones. Pure except where a name says otherwise.
 */
import * as net from 'node:net';
import type { JsonlRecord, TelemetryTopic } from '../../schemas/types';
import { frame, HEADER_BYTES, type Serde } from '../../streams';

/** mulberry32: a small seeded PRNG, so a failing run can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type BadKind =
  | 'wrong-magic-byte'
  | 'unknown-schema-id'
  | 'truncated-avro'
  | 'timestamp-far-future'
  | 'timestamp-before-2000'
  | 'missing-event-id'
  | 'missing-entity-id'
  | 'oversized-value';

/** The `dlq.reason` each kind must end with. */
export const EXPECTED_REASON: Record<BadKind, string> = {
  'wrong-magic-byte': 'no-magic-byte',
  'unknown-schema-id': 'unknown-schema-id',
  'truncated-avro': 'undecodable',
  'timestamp-far-future': 'invalid',
  'timestamp-before-2000': 'invalid',
  'missing-event-id': 'invalid',
  'missing-entity-id': 'invalid',
  'oversized-value': 'oversized',
};

/** An id the registry will never have handed out (Apicurio counts up from 1). */
export const UNKNOWN_SCHEMA_ID = 1_987_654_321;

const ENTITY_FIELD: Record<string, string> = {
  'telemetry.vm-access': 'userId',
  'telemetry.user-activity': 'userId',
  'telemetry.network': 'clientNetworkId',
};

/**
 * The bytes of one malformed record of `kind`, derived from a valid `template` of the same topic
 * (so the key lands in a partition real records use). `now` is the run's epoch ms.
 */
export async function malformed(serde: Serde, physical: string, template: JsonlRecord, kind: BadKind, n: number, now: number): Promise<Buffer> {
  const topic = template.topic as TelemetryTopic;
  const base = { ...(template.value as unknown as Record<string, unknown>), eventId: `bad-${kind}-${n}` };
  const enc = (v: Record<string, unknown>) => serde.encode(topic, v as never, physical);
  switch (kind) {
    case 'wrong-magic-byte': {
      const b = Buffer.from(await enc(base));
      b[0] = 1 + (n % 255);
      return b;
    }
    case 'unknown-schema-id': {
      const b = await enc(base);
      return frame(UNKNOWN_SCHEMA_ID + (n % 3), b.subarray(HEADER_BYTES));
    }
    case 'truncated-avro': {
      const b = await enc(base);
      // Any strict prefix of an Avro record fails to decode; keep at least the 5-byte header.
      const cut = 1 + (n % Math.max(1, b.length - HEADER_BYTES - 1));
      return b.subarray(0, b.length - cut);
    }
    case 'timestamp-far-future':
      return enc({ ...base, timestamp: now + 400 * 24 * 3600_000 + n });
    case 'timestamp-before-2000':
      return enc({ ...base, timestamp: n % 2 === 0 ? 0 : 86_400_000 * (n % 1000) });
    case 'missing-event-id':
      return enc({ ...base, eventId: n % 2 === 0 ? '' : '   ' });
    case 'missing-entity-id':
      return enc({ ...base, [ENTITY_FIELD[topic]]: '' });
    case 'oversized-value':
      // A 96 KiB id: well-formed Avro, far beyond any real telemetry record.
      return enc({ ...base, [ENTITY_FIELD[topic]]: 'x'.repeat(96 * 1024) });
    default:
      throw new Error(`unknown kind ${kind as string}`);
  }
}


export interface ChaosProxy {
  readonly port: number;
  /** The dependency goes away: open connections are reset, new ones refused (ECONNREFUSED). */
  cut(): Promise<void>;
  /** It comes back on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a real component (the registry, an event store), so a test can take
 * that component away from one client for a while without stopping it for everyone else on the
 * shared stack. Side effects: listens on a local port.
 */
export async function startProxy(targetHost: string, targetPort: number): Promise<ChaosProxy> {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
  const port = await listen(0);
  let up = true;
  const stop = async () => {
    if (!up) return;
    up = false;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  return {
    port,
    cut: stop,
    async restore() {
      if (up) return;
      await listen(port);
      up = true;
    },
    close: stop,
  };
}
