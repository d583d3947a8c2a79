import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { loadSchema, TOPICS, type Topic } from '../schemas';
import { registryError } from './errors';
import { physicalTopic } from './naming';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

/** TopicNameStrategy: the value subject of a topic. */
export const valueSubject = (topic: string): string => `${topic}-value`;

/** The library client; its own HTTP retries stay short because callers retry with backoff. */
export function createRegistryClient(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url, retry: { retries: 1, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 } });
}

async function http(url: string, init: RequestInit, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json', ...init.headers } });
  } catch (err) {
    throw registryError(err, what);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep the text */
  }
  if (!res.ok) {
    const message = (body as { message?: string } | undefined)?.message ?? text;
    throw registryError({ status: res.status, message }, what);
  }
  return body;
}

/**
 * Sets a subject's compatibility rule. Done explicitly per subject because Apicurio's ccompat API
 * answers GET /config/{subject} with 200 NONE where Confluent answers 404, which would make the
 * library's register() refuse. PUT is idempotent.
 */
export async function setCompatibility(url: string, subject: string, level: Compatibility = 'BACKWARD'): Promise<void> {
  await http(`${url}/config/${encodeURIComponent(subject)}`, { method: 'PUT', body: JSON.stringify({ compatibility: level }) }, `set ${level} on ${subject}`);
}

/** Whether `schema` may be registered next under `subject`, by the registry's own rule. */
export async function isCompatible(url: string, subject: string, schema: object): Promise<boolean> {
  try {
    const body = (await http(
      `${url}/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      { method: 'POST', body: JSON.stringify({ schema: JSON.stringify(schema) }) },
      `check compatibility of ${subject}`,
    )) as { is_compatible?: boolean };
    return body?.is_compatible === true;
  } catch (err) {
    // 404: no version yet, so anything goes.
    if (String((err as Error).message).includes('HTTP 404')) return true;
    throw err;
  }
}

/** Registers `schema` under `subject` (idempotent: the same schema returns its existing id). */
export async function registerSchema(
  client: SchemaRegistry,
  url: string,
  subject: string,
  schema: object,
  compatibility: Compatibility = 'BACKWARD',
): Promise<number> {
  await setCompatibility(url, subject, compatibility);
  try {
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject, compatibility: compatibility as COMPATIBILITY });
    return id;
  } catch (err) {
    throw registryError(err, `register ${subject}`);
  }
}

/** Registers every topic's value schema (or those given) with BACKWARD; returns topic → id. */
export async function ensureSchemas(
  url: string,
  topics: readonly Topic[] = TOPICS,
  opts: { namespace?: string; client?: SchemaRegistry } = {},
): Promise<Map<Topic, number>> {
  const client = opts.client ?? createRegistryClient(url);
  const ids = new Map<Topic, number>();
  for (const topic of topics) ids.set(topic, await registerSchema(client, url, valueSubject(physicalTopic(topic, opts.namespace)), loadSchema(topic)));
  return ids;
}

export async function listSubjects(url: string): Promise<string[]> {
  return ((await http(`${url}/subjects`, { method: 'GET' }, 'list subjects')) as string[]) ?? [];
}

/** Soft then hard delete (Confluent semantics; Apicurio accepts both). */
export async function deleteSubject(url: string, subject: string): Promise<void> {
  const s = encodeURIComponent(subject);
  await http(`${url}/subjects/${s}`, { method: 'DELETE' }, `delete ${subject}`);
  await http(`${url}/subjects/${s}?permanent=true`, { method: 'DELETE' }, `delete ${subject} permanently`).catch(() => undefined);
}
