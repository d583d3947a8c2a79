/**
 * On-disk layout of the append-only log.
 *
 *   file   = "ESDBLOG1" frame*
 *   frame  = magic u32 | count u32 | bodyLen u32 | crc32(body) u32 | body
 *   body   = record{count}
 *   record = len u32 | crc32(rest) u32 | headerLen u32 | header JSON | data | metadata
 *
 * One frame is one group commit, written with a single write and fsynced before any append in it
 * is acknowledged, so a crash can only ever leave the last frame torn; the frame CRC finds it.
 * Each record carries its own CRC too, so a single event read from disk is verified on its own.
 * An event's $all position is the byte offset of its record: positions only rise, across restarts.
 */
import { crc32 } from 'node:zlib';

export const FILE_MAGIC = Buffer.from('ESDBLOG1', 'ascii');
export const FRAME_MAGIC = 0x45534442; // "ESDB"
export const FRAME_HEADER_BYTES = 16;
const RECORD_PREFIX_BYTES = 8;

/** EventStoreDB reports a tombstone's revision as long.MaxValue. */
export const TOMBSTONE_REVISION = '9223372036854775807';

export interface EventRecord {
  stream: string;
  /** Revision within the stream; ignored for a tombstone. */
  revision: number;
  tombstone: boolean;
  id: string;
  type: string;
  isJson: boolean;
  /** Server wall-clock time of the write, ms since the Unix epoch. */
  createdMs: number;
  data: Buffer;
  metadata: Buffer;
}

export interface StoredEvent extends EventRecord {
  position: number;
}

interface Header {
  s: string;
  r: number;
  k?: 1;
  i: string;
  y: string;
  j: 0 | 1;
  c: number;
  d: number;
}

export function encodeRecord(ev: EventRecord): Buffer {
  const h: Header = { s: ev.stream, r: ev.revision, i: ev.id, y: ev.type, j: ev.isJson ? 1 : 0, c: ev.createdMs, d: ev.data.length };
  if (ev.tombstone) h.k = 1;
  const header = Buffer.from(JSON.stringify(h), 'utf8');
  const restLen = 4 + header.length + ev.data.length + ev.metadata.length;
  const buf = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + restLen);
  buf.writeUInt32LE(restLen, 0);
  buf.writeUInt32LE(header.length, 8);
  header.copy(buf, 12);
  ev.data.copy(buf, 12 + header.length);
  ev.metadata.copy(buf, 12 + header.length + ev.data.length);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

export class CorruptRecordError extends Error {}

/** Total bytes of the record starting at `offset` in `buf`, or undefined if the prefix is cut. */
export function recordLength(buf: Buffer, offset = 0): number | undefined {
  if (buf.length - offset < RECORD_PREFIX_BYTES) return undefined;
  return RECORD_PREFIX_BYTES + buf.readUInt32LE(offset);
}

/**
 * Decodes the record at `offset`. With `copy` false, data and metadata are views into `buf`, valid
 * only as long as the caller keeps `buf` unchanged (recovery uses this to avoid garbage).
 */
export function decodeRecord(buf: Buffer, offset: number, position: number, copy = true): StoredEvent {
  const len = recordLength(buf, offset);
  if (len === undefined || offset + len > buf.length) throw new CorruptRecordError(`record at ${position} is cut short`);
  const rest = buf.subarray(offset + 8, offset + len);
  if (crc32(rest) !== buf.readUInt32LE(offset + 4)) throw new CorruptRecordError(`record at ${position} fails its checksum`);
  const headerLen = rest.readUInt32LE(0);
  const h = JSON.parse(rest.subarray(4, 4 + headerLen).toString('utf8')) as Header;
  const dataStart = 4 + headerLen;
  // Copies by default, so a cached event never pins a large read buffer.
  const dataView = rest.subarray(dataStart, dataStart + h.d);
  const metaView = rest.subarray(dataStart + h.d);
  const data = copy ? Buffer.from(dataView) : dataView;
  const metadata = copy ? Buffer.from(metaView) : metaView;
  return {
    position,
    stream: h.s,
    revision: h.r,
    tombstone: h.k === 1,
    id: h.i,
    type: h.y,
    isJson: h.j === 1,
    createdMs: h.c,
    data,
    metadata,
  };
}

export function encodeFrame(records: Buffer[]): Buffer {
  const bodyLen = records.reduce((n, r) => n + r.length, 0);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLen);
  let at = FRAME_HEADER_BYTES;
  for (const r of records) {
    r.copy(frame, at);
    at += r.length;
  }
  frame.writeUInt32LE(FRAME_MAGIC, 0);
  frame.writeUInt32LE(records.length, 4);
  frame.writeUInt32LE(bodyLen, 8);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER_BYTES)), 12);
  return frame;
}

export interface FrameHeader {
  count: number;
  bodyLen: number;
  crc: number;
}

export function decodeFrameHeader(buf: Buffer): FrameHeader | undefined {
  if (buf.length < FRAME_HEADER_BYTES || buf.readUInt32LE(0) !== FRAME_MAGIC) return undefined;
  return { count: buf.readUInt32LE(4), bodyLen: buf.readUInt32LE(8), crc: buf.readUInt32LE(12) };
}

export function frameBodyIsIntact(header: FrameHeader, body: Buffer): boolean {
  return body.length === header.bodyLen && crc32(body) === header.crc;
}
