import type { DlqReason } from './errors';

/** Header names on every `.dlq` record; the raw key, value and original headers are kept. */
export const DLQ_HEADERS = {
  reason: 'dlq.reason',
  detail: 'dlq.detail',
  topic: 'dlq.source.topic',
  partition: 'dlq.source.partition',
  offset: 'dlq.source.offset',
  group: 'dlq.consumer.group',
} as const;

export const LATE_HEADERS = { reason: 'late.reason', topic: 'late.source.topic', partition: 'late.source.partition', offset: 'late.source.offset' } as const;

export interface SourcePosition {
  topic: string;
  partition: number;
  offset: string;
}

/** Detail is cut to keep headers small; it never carries the value itself. */
export function dlqHeaders(reason: DlqReason | string, detail: string, src: SourcePosition, groupId: string): Record<string, string> {
  return {
    [DLQ_HEADERS.reason]: reason,
    [DLQ_HEADERS.detail]: detail.length > 500 ? detail.slice(0, 497) + '...' : detail,
    [DLQ_HEADERS.topic]: src.topic,
    [DLQ_HEADERS.partition]: String(src.partition),
    [DLQ_HEADERS.offset]: src.offset,
    [DLQ_HEADERS.group]: groupId,
  };
}

export function lateHeaders(reason: string, src: SourcePosition): Record<string, string> {
  return { [LATE_HEADERS.reason]: reason, [LATE_HEADERS.topic]: src.topic, [LATE_HEADERS.partition]: String(src.partition), [LATE_HEADERS.offset]: src.offset };
}

/** Kafka headers (Buffer, string or arrays of them) as plain strings. */
export function headersToStrings(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    const one = Array.isArray(v) ? v[v.length - 1] : v;
    if (one !== undefined && one !== null) out[k] = Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
  }
  return out;
}
