/**
 * The append-only log file: recovery scan on open (verify every frame, cut a torn tail), durable
 * frame writes (write, then fdatasync, before the caller acknowledges anything), and positional
 * reads of single events with a small LRU so hot events are not re-read from disk.
 */
import fs from 'node:fs';
import * as path from 'node:path';
import { lockDataDir } from './lock';
import {
  FILE_MAGIC,
  FRAME_HEADER_BYTES,
  StoredEvent,
  decodeFrameHeader,
  decodeRecord,
  frameBodyIsIntact,
  recordLength,
} from './record';

export const LOG_FILE = 'events.log';
/** More than this much unreadable data at the end is corruption, not a torn write: refuse to start. */
const MAX_TORN_TAIL_BYTES = 256 * 1024 * 1024;
/** The read cache is bounded by bytes, so memory does not follow the size of the log. */
const CACHE_MAX_BYTES = 8 * 1024 * 1024;
const CACHE_MAX_EVENT_BYTES = 64 * 1024;
const FIRST_READ_BYTES = 4096;

export class LogCorruptError extends Error {}

export interface RecoveryReport {
  frames: number;
  events: number;
  truncatedBytes: number;
  end: number;
}

export class EventLog {
  private readonly cache = new Map<number, StoredEvent>();
  private cacheBytes = 0;
  private closed = false;

  private constructor(
    private readonly fd: number,
    /** Byte offset where the next frame goes. */
    public end: number,
    private readonly unlock: () => void,
  ) {}

  /**
   * Opens (creating if absent) the log in `dir`, replaying every intact event into `onEvent` in log
   * order (its data and metadata are only valid during the call). A torn last frame is cut off and
   * the cut is fsynced before the log is used.
   */
  static open(dir: string, onEvent: (ev: StoredEvent) => void): { log: EventLog; report: RecoveryReport } {
    fs.mkdirSync(dir, { recursive: true });
    const unlock = lockDataDir(dir);
    const file = path.join(dir, LOG_FILE);
    let fd: number;
    try {
      fd = fs.openSync(file, fs.existsSync(file) ? 'r+' : 'w+');
    } catch (err) {
      unlock();
      throw err;
    }
    const existed = fs.fstatSync(fd).size > 0;
    try {
      if (!existed || fs.fstatSync(fd).size < FILE_MAGIC.length) {
        fs.ftruncateSync(fd, 0);
        fs.writeSync(fd, FILE_MAGIC, 0, FILE_MAGIC.length, 0);
        fs.fsyncSync(fd);
        syncDir(dir);
      } else {
        const magic = Buffer.alloc(FILE_MAGIC.length);
        fs.readSync(fd, magic, 0, magic.length, 0);
        if (!magic.equals(FILE_MAGIC)) throw new LogCorruptError(`${file} is not an esdb-local log (bad magic)`);
      }
      const report = scan(fd, onEvent);
      const size = fs.fstatSync(fd).size;
      report.truncatedBytes = size - report.end;
      if (report.truncatedBytes > MAX_TORN_TAIL_BYTES) {
        throw new LogCorruptError(
          `${file}: ${report.truncatedBytes} unreadable bytes after offset ${report.end}; that is corruption, not a torn tail — restore the data dir from a backup`,
        );
      }
      if (report.truncatedBytes > 0) {
        fs.ftruncateSync(fd, report.end);
        fs.fsyncSync(fd);
      }
      return { log: new EventLog(fd, report.end, unlock), report };
    } catch (err) {
      fs.closeSync(fd);
      unlock();
      throw err;
    }
  }

  /** Writes one frame at `at` (must equal `end`) and makes it durable before resolving. */
  async writeFrame(at: number, frame: Buffer): Promise<void> {
    if (at !== this.end) throw new Error(`log write at ${at} but end is ${this.end}`);
    let written = 0;
    while (written < frame.length) {
      written += await new Promise<number>((resolve, reject) =>
        fs.write(this.fd, frame, written, frame.length - written, at + written, (err, n) => (err ? reject(err) : resolve(n))),
      );
    }
    await new Promise<void>((resolve, reject) => fs.fdatasync(this.fd, (err) => (err ? reject(err) : resolve())));
    this.end = at + frame.length;
  }

  readAt(position: number): StoredEvent {
    const hit = this.cache.get(position);
    if (hit) {
      this.cache.delete(position);
      this.cache.set(position, hit);
      return hit;
    }
    let buf = Buffer.allocUnsafe(FIRST_READ_BYTES);
    const n = fs.readSync(this.fd, buf, 0, buf.length, position);
    const len = recordLength(buf.subarray(0, n));
    if (len === undefined) throw new LogCorruptError(`no record at position ${position}`);
    if (len > n) {
      buf = Buffer.allocUnsafe(len);
      fs.readSync(this.fd, buf, 0, len, position);
    }
    const ev = decodeRecord(buf, 0, position);
    const size = cachedSize(ev);
    if (size <= CACHE_MAX_EVENT_BYTES) {
      this.cache.set(position, ev);
      this.cacheBytes += size;
      while (this.cacheBytes > CACHE_MAX_BYTES) {
        const [oldest, old] = this.cache.entries().next().value as [number, StoredEvent];
        this.cache.delete(oldest);
        this.cacheBytes -= cachedSize(old);
      }
    }
    return ev;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.unlock();
  }
}

function cachedSize(ev: StoredEvent): number {
  return ev.data.length + ev.metadata.length + ev.stream.length + ev.type.length + 128;
}

function scan(fd: number, onEvent: (ev: StoredEvent) => void): RecoveryReport {
  const size = fs.fstatSync(fd).size;
  const report: RecoveryReport = { frames: 0, events: 0, truncatedBytes: 0, end: FILE_MAGIC.length };
  const headerBuf = Buffer.alloc(FRAME_HEADER_BYTES);
  // One scratch buffer for all frame bodies: recovery of a large log makes no garbage per event.
  let scratch = Buffer.allocUnsafe(1024 * 1024);
  let at = FILE_MAGIC.length;
  while (at + FRAME_HEADER_BYTES <= size) {
    fs.readSync(fd, headerBuf, 0, FRAME_HEADER_BYTES, at);
    const header = decodeFrameHeader(headerBuf);
    if (!header || at + FRAME_HEADER_BYTES + header.bodyLen > size) break;
    if (scratch.length < header.bodyLen) scratch = Buffer.allocUnsafe(header.bodyLen);
    const body = scratch.subarray(0, header.bodyLen);
    fs.readSync(fd, body, 0, header.bodyLen, at + FRAME_HEADER_BYTES);
    if (!frameBodyIsIntact(header, body)) break;
    const events: StoredEvent[] = [];
    let off = 0;
    try {
      for (let i = 0; i < header.count; i++) {
        const ev = decodeRecord(body, off, at + FRAME_HEADER_BYTES + off, false);
        events.push(ev);
        off += recordLength(body, off) as number;
      }
    } catch {
      break;
    }
    if (off !== body.length) break;
    for (const ev of events) onEvent(ev);
    report.frames++;
    report.events += events.length;
    at += FRAME_HEADER_BYTES + header.bodyLen;
    report.end = at;
  }
  return report;
}

function syncDir(dir: string): void {
  try {
    const d = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(d);
    } finally {
      fs.closeSync(d);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the file's own fsync still holds.
  }
}
