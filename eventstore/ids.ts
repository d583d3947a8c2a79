import { createHash } from 'node:crypto';

/** Our fixed UUID v5 namespace for event ids (itself a random v4, chosen once). */
export const EVENT_ID_NAMESPACE = '4f1c2a5e-8d3b-4a67-9c0e-2b7d51e6a9f3';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** RFC 4122 version 5 (SHA-1, name-based) UUID. */
export function uuidV5(name: string, namespace: string = EVENT_ID_NAMESPACE): string {
  if (!isUuid(namespace)) throw new TypeError(`uuidV5: namespace ${namespace} is not a UUID`);
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The id of the `index`-th event a command produces on a stream. The same command redelivered
 * (same commandId) yields the same ids, so an append at the same expected revision is a no-op on
 * the server; the handler covers the case where the stream has moved on meanwhile.
 */
export function eventId(stream: string, commandId: string, index: number): string {
  if (!Number.isInteger(index) || index < 0) throw new TypeError(`eventId: index ${index} must be a whole number`);
  // NUL cannot occur in stream names or our command ids, so the parts cannot run into each other.
  return uuidV5(`${stream}\u0000${commandId}\u0000${index}`);
}

/** A command id for work triggered by a Kafka record: its coordinates identify it across redeliveries. */
export function commandIdFromRecord(topic: string, partition: number, offset: string | number | bigint): string {
  return `kafka:${topic}/${partition}/${String(offset)}`;
}
