import type { Message } from 'kafkajs';

/**
 * Kafka refuses a produce request whose record batch for one partition exceeds the broker's
 * message.max.bytes (1 MiB by default), and kafkajs puts everything one send() holds for a
 * partition into one batch. A batch of DLQ copies of large bad records, or of many outputs, must
 * go out in several sends (still in one transaction), so no request is refused.
 */
export const MAX_SEND_BYTES = 512 * 1024;

export function messageBytes(m: Message): number {
  let n = 64 + (m.key ? Buffer.byteLength(m.key as Buffer | string) : 0) + (m.value ? Buffer.byteLength(m.value as Buffer | string) : 0);
  for (const [k, v] of Object.entries(m.headers ?? {})) {
    n += Buffer.byteLength(k);
    for (const x of Array.isArray(v) ? v : [v]) if (x !== undefined) n += Buffer.byteLength(x as Buffer | string);
  }
  return n;
}

/** `msgs` in order, split so each chunk stays under `maxBytes` (a single larger message goes alone). */
export function chunkBySize(msgs: readonly Message[], maxBytes = MAX_SEND_BYTES): Message[][] {
  const out: Message[][] = [];
  let cur: Message[] = [];
  let size = 0;
  for (const m of msgs) {
    const b = messageBytes(m);
    if (cur.length && size + b > maxBytes) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(m);
    size += b;
  }
  if (cur.length) out.push(cur);
  return out;
}
