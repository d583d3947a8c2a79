import { Type, type Resolver } from 'avsc';
import { SchemaType, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { InvalidInputError } from '../core/errors';
import { loadSchema, type Topic, type TopicRecords } from '../schemas';
import { BadRecordError, registryError } from './errors';
import { createRegistryClient, registerSchema, valueSubject } from './registry';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */
export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;

export function frame(schemaId: number, avro: Buffer): Buffer {
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt8(MAGIC_BYTE, 0);
  head.writeInt32BE(schemaId, 1);
  return Buffer.concat([head, avro]);
}

/** Splits a wire-format value; throws BadRecordError('no-magic-byte') when it is not one. */
export function unframe(buf: Buffer | null | undefined): { schemaId: number; payload: Buffer } {
  if (!buf || buf.length === 0) throw new BadRecordError('no-magic-byte', 'empty value');
  if (buf[0] !== MAGIC_BYTE) throw new BadRecordError('no-magic-byte', `first byte is ${buf[0]}, expected 0`);
  if (buf.length < HEADER_BYTES) throw new BadRecordError('no-magic-byte', `value of ${buf.length} bytes is shorter than the 5-byte header`);
  return { schemaId: buf.readInt32BE(1), payload: buf.subarray(HEADER_BYTES) };
}

/**
 * avsc types built without logical-type hooks, so timestamp-millis reads and writes as a plain
 * number of epoch ms (not a Date) and a long outside the safe-integer range fails loudly
 * ("potential precision loss") instead of rounding.
 */
export function avroType(schema: object): Type {
  return Type.forSchema(schema as never);
}

/** Every field path where `value` does not fit `type`, as readable strings (empty when valid). */
export function schemaProblems(type: Type, value: unknown): string[] {
  const problems: string[] = [];
  type.isValid(value, {
    errorHook: (path: string[], v: unknown, t: Type) => {
      const shown = v === undefined ? 'missing' : JSON.stringify(v);
      problems.push(`${path.join('.') || '(value)'}: ${shown} is not ${describe(t)}`);
    },
  });
  return problems;
}

function describe(t: Type): string {
  const s = t.schema() as unknown;
  if (typeof s === 'string') return `a ${s}`;
  const o = s as { type?: string; symbols?: string[]; name?: string };
  if (o.type === 'enum' && o.symbols) return `one of ${o.symbols.join(', ')}`;
  if (Array.isArray(s)) return `one of ${JSON.stringify(s)}`;
  return `a ${o.type ?? 'value'}${o.name ? ` (${o.name})` : ''}`;
}

/** A top-level enum field whose writer knows symbols our reader does not. */
interface EnumGuard {
  field: string;
  known: Set<string>;
}

function topLevelEnums(t: Type): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const s = t.schema() as { fields?: Array<{ name: string; type: unknown }> };
  for (const f of s.fields ?? []) {
    const branches = Array.isArray(f.type) ? f.type : [f.type];
    for (const b of branches) {
      const e = b as { type?: string; symbols?: string[] };
      if (e && e.type === 'enum' && e.symbols) out.set(f.name, e.symbols);
    }
  }
  return out;
}

/**
 * Avro would read a symbol our enum lacks as the enum's default (OTHER, UNKNOWN): a silent
 * change of meaning. Such records go to the DLQ instead (reason `invalid`), their bytes kept for
 * a replay once our schema knows the symbol.
 */
function enumGuards(reader: Type, writer: Type): EnumGuard[] {
  const ours = topLevelEnums(reader);
  const guards: EnumGuard[] = [];
  for (const [field, symbols] of topLevelEnums(writer)) {
    const known = ours.get(field);
    if (known && symbols.some((x) => !known.includes(x))) guards.push({ field, known: new Set(known) });
  }
  return guards;
}

function unknownSymbols(written: Record<string, unknown>, guards: EnumGuard[], schemaId: number): void {
  for (const g of guards) {
    const v = written[g.field];
    if (typeof v === 'string' && !g.known.has(v)) {
      throw new BadRecordError('invalid', `${g.field}: unknown enum symbol "${v}" (schema id ${schemaId}); known: ${[...g.known].join(', ')}`);
    }
  }
}

export interface Decoded<T extends Topic> {
  value: TopicRecords[T];
  schemaId: number;
}

export interface Serde {
  /**
   * Validates against the topic's schema and frames with the id registered under the subject of
   * `physical` (the Kafka topic written to; defaults to the topic's own name).
   */
  encode<T extends Topic>(topic: T, value: TopicRecords[T], physical?: string): Promise<Buffer>;
  /** Reads any writer schema registered for the topic as our (reader) schema. */
  decode<T extends Topic>(topic: T, buf: Buffer | null | undefined): Promise<Decoded<T>>;
  /** The registered id of our schema for the topic (registers it, BACKWARD, on first use). */
  schemaIdFor(topic: Topic, physical?: string): Promise<number>;
  readerType(topic: Topic): Type;
}

/**
 * One serde per process role. Caches: our reader types by topic, registered ids by topic, writer
 * types by schema id, resolvers by (topic, writer id). Failed lookups are not cached, so a
 * registry outage is retried by the caller.
 */
export function createSerde(opts: {
  registryUrl: string;
  client?: SchemaRegistry;
  /**
   * Default true: our schema is registered (BACKWARD) on first use. False, for registries that
   * only an administrator writes to: the id of the identical schema is looked up instead.
   */
  autoRegister?: boolean;
  /**
   * How long a schema id the registry answered 404 for is remembered as unknown. Producers
   * register before they write, so such an id stays unknown; without this, a flood of records
   * naming one made a registry request each (10,000 bad records outran a CI test's patience).
   */
  unknownIdTtlMs?: number;
  now?: () => number;
}): Serde {
  const client = opts.client ?? createRegistryClient(opts.registryUrl);
  const readers = new Map<Topic, Type>();
  const ids = new Map<string, Promise<number>>();
  const writers = new Map<number, Promise<Type>>();
  const resolvers = new Map<string, { resolver: Resolver | null; guards: EnumGuard[] }>();
  const unknownUntil = new Map<number, number>();
  const unknownTtl = opts.unknownIdTtlMs ?? 60_000;
  const now = opts.now ?? Date.now;

  const readerType = (topic: Topic): Type => {
    let t = readers.get(topic);
    if (!t) readers.set(topic, (t = avroType(loadSchema(topic))));
    return t;
  };

  const schemaIdFor = (topic: Topic, physical: string = topic): Promise<number> => {
    let p = ids.get(physical);
    if (!p) {
      const subject = valueSubject(physical);
      p =
        opts.autoRegister === false
          ? client.getRegistryIdBySchema(subject, { type: SchemaType.AVRO, schema: JSON.stringify(loadSchema(topic)) }).catch((err) => {
              throw registryError(err, `look up our ${topic} schema under ${subject}`);
            })
          : registerSchema(client, opts.registryUrl, subject, loadSchema(topic));
      ids.set(physical, p);
      p.catch(() => ids.delete(physical));
    }
    return p;
  };

  const writerType = (id: number): Promise<Type> => {
    const until = unknownUntil.get(id);
    if (until !== undefined && now() >= until) {
      unknownUntil.delete(id);
      writers.delete(id);
    }
    let p = writers.get(id);
    if (!p) {
      p = client.getSchema(id).then(
        (s) => avroType(JSON.parse(JSON.stringify((s as unknown as Type).schema()))),
        (err) => {
          const mapped = registryError(err, `schema id ${id}`);
          if (!mapped.retriable && /HTTP 404/.test(mapped.message)) throw new BadRecordError('unknown-schema-id', `schema id ${id} is not in the registry`, err);
          if (!mapped.retriable) throw new BadRecordError('incompatible-schema', `schema id ${id}: ${mapped.message}`, err);
          throw mapped;
        },
      );
      writers.set(id, p);
      p.catch((err: unknown) => {
        if (err instanceof BadRecordError && err.reason === 'unknown-schema-id') {
          // Garbage naming many distinct ids must not grow the maps for ever: drop the expired.
          if (unknownUntil.size >= 1000) {
            for (const [old, until] of unknownUntil) {
              if (now() < until) continue;
              unknownUntil.delete(old);
              writers.delete(old);
            }
          }
          unknownUntil.set(id, now() + unknownTtl);
        }
        else writers.delete(id);
      });
    }
    return p;
  };

  return {
    readerType,
    schemaIdFor,
    async encode(topic, value, physical) {
      const type = readerType(topic);
      const problems = schemaProblems(type, value);
      if (problems.length) throw new InvalidInputError(`${topic}: ${problems.join('; ')}`);
      return frame(await schemaIdFor(topic, physical), type.toBuffer(value));
    },
    async decode<T extends Topic>(topic: T, buf: Buffer | null | undefined): Promise<Decoded<T>> {
      const { schemaId, payload } = unframe(buf);
      const writer = await writerType(schemaId);
      const reader = readerType(topic);
      const key = `${topic}/${schemaId}`;
      let entry = resolvers.get(key);
      if (entry === undefined) {
        try {
          entry = writer.equals(reader) ? { resolver: null, guards: [] } : { resolver: reader.createResolver(writer), guards: enumGuards(reader, writer) };
        } catch (err) {
          throw new BadRecordError('incompatible-schema', `schema id ${schemaId} cannot be read as ${topic}: ${(err as Error).message}`, err);
        }
        resolvers.set(key, entry);
      }
      let value: unknown;
      try {
        if (entry.guards.length) unknownSymbols(writer.fromBuffer(payload) as Record<string, unknown>, entry.guards, schemaId);
        value = entry.resolver ? reader.fromBuffer(payload, entry.resolver) : reader.fromBuffer(payload);
      } catch (err) {
        if (err instanceof BadRecordError) throw err;
        throw new BadRecordError('undecodable', `bytes do not decode with schema id ${schemaId}: ${(err as Error).message}`, err);
      }
      return { value: value as TopicRecords[T], schemaId };
    },
  };
}
