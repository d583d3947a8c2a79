import { loadConfig } from '../../core/config';
import { InvalidInputError } from '../../core/errors';
import { loadSchema, TOPICS, type VmAccess } from '../../schemas';
import {
  avroType,
  type ConsumedRecord,
  createProducer,
  createRegistryClient,
  createSerde,
  done,
  ensureSchemas,
  ensureStreams,
  frame,
  isCompatible,
  registerSchema,
  runConsumer,
  valueSubject,
} from '../../streams';
import { testNamespaces } from '../support/namespaces';

// Each test gets its own namespace, dropped when the suite ends.
const newNs = testNamespaces('it-schema');

// Against the real registry (Apicurio, Confluent API): subjects per topic, BACKWARD, evolution.
const cfg = loadConfig();
const url = cfg.schemaRegistry.url;

const v1 = loadSchema('telemetry.vm-access') as { fields: object[] };
const v2 = { ...v1, fields: [...v1.fields, { name: 'sessionId', type: ['null', 'string'], default: null, doc: 'Session the access belongs to.' }] };
const incompatible = { ...v1, fields: [...v1.fields, { name: 'region', type: 'string', doc: 'Required, no default: old records cannot be read.' }] };

async function getJson(path: string): Promise<unknown> {
  const res = await fetch(`${url}${path}`);
  return res.json();
}

describe('schemas in the registry', () => {
  it('registers every topic under <topic>-value with BACKWARD, idempotently', async () => {
    const ns = newNs();
    const first = await ensureSchemas(url, TOPICS, { namespace: ns });
    const again = await ensureSchemas(url, TOPICS, { namespace: ns });
    expect([...again]).toEqual([...first]);
    for (const t of TOPICS) {
      const subject = valueSubject(`${ns}.${t}`);
      expect(await getJson(`/config/${subject}`)).toMatchObject({ compatibilityLevel: 'BACKWARD' });
      expect(await getJson(`/subjects/${subject}/versions`)).toEqual([1]);
    }
  });

  it('accepts an added optional field with a default and refuses an incompatible change', async () => {
    const subject = valueSubject(`${newNs()}.telemetry.vm-access`);
    const client = createRegistryClient(url);
    const id1 = await registerSchema(client, url, subject, v1);
    expect(await isCompatible(url, subject, v2)).toBe(true);
    const id2 = await registerSchema(client, url, subject, v2);
    expect(id2).not.toBe(id1);
    expect(await isCompatible(url, subject, incompatible)).toBe(false);
    await expect(registerSchema(client, url, subject, incompatible)).rejects.toBeInstanceOf(InvalidInputError);
    expect(await getJson(`/subjects/${subject}/versions`)).toEqual([1, 2]);
  });

  it('without auto-registration, finds the id an administrator registered and refuses an unregistered subject', async () => {
    const ns = newNs();
    const ids = await ensureSchemas(url, ['alerts.admin'], { namespace: ns });
    const serde = createSerde({ registryUrl: url, autoRegister: false });
    expect(await serde.schemaIdFor('alerts.admin', `${ns}.alerts.admin`)).toBe(ids.get('alerts.admin'));
    await expect(serde.schemaIdFor('risk.access', `${ns}.risk.access`)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('lets an old reader (our consumer) read records written with the newer schema', async () => {
    const ns = newNs();
    await ensureStreams(cfg, { namespace: ns, topics: ['telemetry.vm-access'] });
    const topic = `${ns}.telemetry.vm-access`;
    const id2 = await registerSchema(createRegistryClient(url), url, valueSubject(topic), v2);
    const value: VmAccess = { eventId: 'new-1', timestamp: Date.now(), userId: 'u', vmId: 'vm', action: 'EXEC', success: true, source: 'v2-producer' };
    const p = createProducer({ kafka: cfg.kafka, registryUrl: url, namespace: ns });
    await p.sendRaw(topic, [{ key: 'u', value: frame(id2, avroType(v2).toBuffer({ ...value, sessionId: 's-9' })) }]);
    await p.disconnect();

    const got: ConsumedRecord[] = [];
    const c = await runConsumer({
      kafka: cfg.kafka,
      registryUrl: url,
      namespace: ns,
      groupId: `${ns}-g`,
      topics: ['telemetry.vm-access'],
      fromBeginning: true,
      handle: async (r) => {
        got.push(r);
        return done();
      },
    });
    try {
      for (let i = 0; i < 400 && c.counters().in < 1; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await c.stop();
    }
    expect(got).toHaveLength(1);
    expect(got[0].schemaId).toBe(id2);
    expect({ ...got[0].value }).toEqual(value);
  });
});
