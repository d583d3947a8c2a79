/** Regression specs for issue 10 (bad input at volume): oversized values, produce-request size. */
import type { KafkaMessage } from 'kafkajs';
import { chunkBySize, MAX_SEND_BYTES, messageBytes } from '../../streams/chunk';
import { isRejected, toRecord } from '../../streams/record';
import type { Serde } from '../../streams/serde';
import { MAX_VALUE_BYTES } from '../../streams/validate';

const msg = (bytes: number) => ({ key: 'k', value: Buffer.alloc(bytes), headers: { 'dlq.reason': 'invalid' } });

describe('chunkBySize', () => {
  it('given DLQ copies of many large records, then each send stays under the limit and nothing is lost or reordered', () => {
    const msgs = Array.from({ length: 40 }, (_, i) => ({ ...msg(96 * 1024), key: String(i) }));
    const chunks = chunkBySize(msgs);
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) expect(c.reduce((n, m) => n + messageBytes(m), 0)).toBeLessThanOrEqual(MAX_SEND_BYTES);
    expect(chunks.flat().map((m) => m.key)).toEqual(msgs.map((m) => m.key));
  });

  it('given one message larger than the limit, then it goes alone, and small batches stay whole', () => {
    expect(chunkBySize([msg(10), msg(MAX_SEND_BYTES * 2), msg(10)]).map((c) => c.length)).toEqual([1, 1, 1]);
    expect(chunkBySize([msg(10), msg(10), msg(10)]).map((c) => c.length)).toEqual([3]);
    expect(chunkBySize([])).toEqual([]);
  });
});

describe('toRecord', () => {
  const serde = { decode: () => Promise.reject(new Error('must not decode an oversized value')) } as unknown as Serde;
  const km = (value: Buffer) => ({ key: null, value, headers: {}, offset: '7', timestamp: '0', attributes: 0, size: value.length }) as unknown as KafkaMessage;

  it('given a value over MAX_VALUE_BYTES, then it is rejected as oversized without being decoded, the detail naming sizes only', async () => {
    const r = await toRecord(serde, 'telemetry.vm-access', 'telemetry.vm-access', 0, km(Buffer.alloc(MAX_VALUE_BYTES + 1, 0x41)), 0);
    expect(isRejected(r)).toBe(true);
    expect(r).toMatchObject({ reason: 'oversized' });
    expect((r as { detail: string }).detail).not.toContain('AAAA');
  });
});
