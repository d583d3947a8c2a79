/** How audit output looks: a fixed-width table for people (streamed, so widths cannot adapt), JSON lines for tools. */
import type { RecordedEnvelope } from './envelope';
import { eventTime, type VerifyReport } from './audit';
import type { ChainBreak } from './hash-chain';

const W = { time: 24, stream: 36, rev: 5, type: 30, data: 80 };

function fit(s: string, w: number): string {
  return s.length > w ? s.slice(0, w - 1) + '…' : s.padEnd(w);
}

export function tableHeader(): string {
  return [fit('TIME', W.time), fit('STREAM', W.stream), 'REV'.padStart(W.rev), fit('TYPE', W.type), 'DATA'].join('  ');
}

/** JSON data as is; a binary event's bytes as base64, so output stays one valid JSON line. */
function printable(data: unknown): unknown {
  return data instanceof Uint8Array ? { base64: Buffer.from(data).toString('base64') } : data;
}

export function tableRow(e: RecordedEnvelope): string {
  const data = JSON.stringify(printable(e.data)) ?? '';
  return [
    fit(eventTime(e).toISOString(), W.time),
    fit(e.stream, W.stream),
    String(e.revision).padStart(W.rev),
    fit(e.type, W.type),
    data.length > W.data ? data.slice(0, W.data - 1) + '…' : data,
  ].join('  ');
}

export function jsonLine(e: RecordedEnvelope): string {
  return JSON.stringify({
    time: eventTime(e).toISOString(),
    recordedAt: e.recordedAt.toISOString(),
    stream: e.stream,
    revision: e.revision,
    id: e.id,
    type: e.type,
    data: printable(e.data),
    metadata: e.metadata,
    ...(e.commitPosition === undefined ? {} : { commitPosition: e.commitPosition.toString() }),
  });
}

export function breakLine(b: ChainBreak): string {
  return `BROKEN ${b.stream} at revision ${b.revision} (event ${b.eventId}, ${b.type}): ${b.reason}; expected ${b.expected}, found ${b.found}`;
}

export function verifySummary(r: VerifyReport): string {
  return r.breaks.length === 0
    ? `ok: ${r.streams} streams, ${r.events} events verified`
    : `verify failed: ${r.breaks.length} of ${r.streams} streams broken (${r.events} events checked)`;
}
