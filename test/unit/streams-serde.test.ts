import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { UnavailableError } from '../../core/errors';
import { loadSchema, type VmAccess } from '../../schemas';
import { avroType, BadRecordError, createSerde, frame, schemaProblems, unframe } from '../../streams';

// Pure serde behaviour, with an in-memory stand-in for the registry's id → schema lookup (the
// registry itself is exercised in test/integration/schema-*.test.ts).
const access: VmAccess = { eventId: 'e1', timestamp: 1_763_700_000_123, userId: 'u1', vmId: 'vm1', action: 'CONNECT', success: true, source: 'bastion' };
const v1 = loadSchema('telemetry.vm-access') as { fields: object[] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'sessionId', type: ['null', 'string'], default: null, doc: 'new' }] };

function registryWith(schemas: Record<number, object>, fail?: unknown): SchemaRegistry {
  return {
    getSchema: async (id: number) => {
      if (fail) throw fail;
      if (!schemas[id]) throw Object.assign(new Error('Schema not found'), { status: 404 });
      return avroType(schemas[id]);
    },
    register: async () => ({ id: 1 }),
  } as unknown as SchemaRegistry;
}

const reasonOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
    return 'decoded';
  } catch (err) {
    return err instanceof BadRecordError ? err.reason : `other: ${(err as Error).name}`;
  }
};

describe('wire format', () => {
  it('frames as magic byte 0, a 4-byte big-endian id, then the Avro bytes', () => {
    const buf = frame(258, Buffer.from([7, 8]));
    expect([...buf]).toEqual([0, 0, 0, 1, 2, 7, 8]);
    expect(unframe(buf)).toEqual({ schemaId: 258, payload: Buffer.from([7, 8]) });
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['null', null],
    ['wrong magic byte', Buffer.from([1, 0, 0, 0, 1, 2])],
    ['plain JSON', Buffer.from('{"eventId":"x"}')],
    ['shorter than the header', Buffer.from([0, 0, 1])],
  ])('refuses %s as no-magic-byte', (_, buf) => {
    expect(() => unframe(buf)).toThrow(expect.objectContaining({ reason: 'no-magic-byte' }));
  });
});

describe('avro types', () => {
  it('reads timestamp-millis as a plain number of epoch ms', () => {
    const t = avroType(loadSchema('telemetry.vm-access'));
    const back = t.fromBuffer(t.toBuffer(access)) as VmAccess;
    expect(typeof back.timestamp).toBe('number');
    expect(back.timestamp).toBe(access.timestamp);
  });

  it('refuses a long that a JS number cannot hold exactly', () => {
    const long = avroType({ type: 'long' });
    const big = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]); // zigzag 2^63-1
    expect(() => long.fromBuffer(big)).toThrow(/precision/);
  });

  it('names every field that does not fit', () => {
    const t = avroType(loadSchema('telemetry.vm-access'));
    const problems = schemaProblems(t, { ...access, action: 'DANCE', success: 'yes', vmId: undefined });
    expect(problems.join('\n')).toMatch(/action: "DANCE" is not one of ACCESS_REQUEST/);
    expect(problems.join('\n')).toMatch(/success: "yes" is not a boolean/);
    expect(problems.join('\n')).toMatch(/vmId: missing is not a string/);
  });
});

describe('decode', () => {
  const bytesOf = (schema: object, value: object, id: number) => frame(id, avroType(schema).toBuffer(value));

  it('reads a record written with our schema', async () => {
    const serde = createSerde({ registryUrl: 'http://unused', client: registryWith({ 1: v1 }) });
    const out = await serde.decode('telemetry.vm-access', bytesOf(v1, access, 1));
    expect(out).toEqual({ schemaId: 1, value: access });
  });

  it('reads a record written with a newer schema (an added optional field) as our type', async () => {
    const serde = createSerde({ registryUrl: 'http://unused', client: registryWith({ 2: v2 }) });
    const out = await serde.decode('telemetry.vm-access', bytesOf(v2, { ...access, sessionId: 's' }, 2));
    expect(out.value).toEqual(access);
  });

  it('refuses an enum symbol our schema does not know rather than reading it as the default', async () => {
    const withTeleport = {
      ...v1,
      fields: (v1.fields as Array<{ name: string; type: { symbols?: string[] } }>).map((f) => (f.name === 'action' ? { ...f, type: { ...f.type, symbols: [...f.type.symbols!, 'TELEPORT'] } } : f)),
    };
    const serde = createSerde({ registryUrl: 'http://unused', client: registryWith({ 5: withTeleport }) });
    const err = await serde.decode('telemetry.vm-access', bytesOf(withTeleport, { ...access, action: 'TELEPORT' }, 5)).catch((e) => e);
    expect(err).toMatchObject({ reason: 'invalid', detail: expect.stringMatching(/action: unknown enum symbol "TELEPORT"/) });
    const ok = await serde.decode('telemetry.vm-access', bytesOf(withTeleport, access, 5));
    expect(ok.value).toEqual(access);
  });

  it('classifies an unknown schema id, undecodable bytes and a foreign schema for the DLQ', async () => {
    const serde = createSerde({ registryUrl: 'http://unused', client: registryWith({ 1: v1, 3: loadSchema('telemetry.network') }) });
    expect(await reasonOf(serde.decode('telemetry.vm-access', frame(99, Buffer.from([1, 2]))))).toBe('unknown-schema-id');
    expect(await reasonOf(serde.decode('telemetry.vm-access', frame(1, Buffer.from([0xff, 0xff, 0xff]))))).toBe('undecodable');
    const net = { eventId: 'n', timestamp: 1, clientNetworkId: 'c', intervalMs: 1, bytesIn: 1, bytesOut: 1, packets: 1, flows: 1, trafficType: 'WEB', cryptoOps: 1, tlsHandshakes: 1, threatIndicators: [] };
    expect(await reasonOf(serde.decode('telemetry.vm-access', bytesOf(loadSchema('telemetry.network'), net, 3)))).toBe('incompatible-schema');
  });

  it('treats an unreachable registry as retriable, never as bad input', async () => {
    const down = Object.assign(new Error('Error, status 400: connect ECONNREFUSED 127.0.0.1:8081'), { status: 400 });
    const serde = createSerde({ registryUrl: 'http://unused', client: registryWith({}, down) });
    const err = await serde.decode('telemetry.vm-access', frame(1, Buffer.from([1]))).catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.retriable).toBe(true);
  });

  it('asks the registry once per schema id', async () => {
    let calls = 0;
    const client = registryWith({ 1: v1 });
    const counting = { ...client, getSchema: (id: number) => (calls++, client.getSchema(id)) } as unknown as SchemaRegistry;
    const serde = createSerde({ registryUrl: 'http://unused', client: counting });
    for (let i = 0; i < 5; i++) await serde.decode('telemetry.vm-access', bytesOf(v1, access, 1));
    expect(calls).toBe(1);
  });

  it('given records naming a schema id the registry does not have, then it is asked once per TTL, not once per record (regression: 10,000 bad records, a request each)', async () => {
    let calls = 0;
    let t = 1_000;
    const client = registryWith({ 1: v1 });
    const counting = { ...client, getSchema: (id: number) => (calls++, client.getSchema(id)) } as unknown as SchemaRegistry;
    const serde = createSerde({ registryUrl: 'http://unused', client: counting, unknownIdTtlMs: 60_000, now: () => t });
    for (let i = 0; i < 50; i++) expect(await reasonOf(serde.decode('telemetry.vm-access', frame(99, Buffer.from([1]))))).toBe('unknown-schema-id');
    expect(calls).toBe(1);
    t += 60_000;
    expect(await reasonOf(serde.decode('telemetry.vm-access', frame(99, Buffer.from([1]))))).toBe('unknown-schema-id');
    expect(calls).toBe(2);
  });

  it('given the registry down, then a failed lookup is not remembered: the next record asks again', async () => {
    let calls = 0;
    const down = Object.assign(new Error('Error, status 400: connect ECONNREFUSED 127.0.0.1:8081'), { status: 400 });
    const failing = registryWith({}, down);
    const counting = { ...failing, getSchema: (id: number) => (calls++, failing.getSchema(id)) } as unknown as SchemaRegistry;
    const serde = createSerde({ registryUrl: 'http://unused', client: counting });
    for (let i = 0; i < 3; i++) await serde.decode('telemetry.vm-access', frame(1, Buffer.from([1]))).catch(() => undefined);
    expect(calls).toBe(3);
  });

  it('refuses to encode a value that does not fit, naming the field', async () => {
    const serde = createSerde({ registryUrl: 'http://unused', client: registryWith({ 1: v1 }) });
    await expect(serde.encode('telemetry.vm-access', { ...access, action: 'DANCE' } as never)).rejects.toThrow(/action: "DANCE"/);
  });
});
