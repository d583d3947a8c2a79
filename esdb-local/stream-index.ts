/**
 * Everything the server keeps in memory: per stream the log position of each revision, tombstone
 * and the metadata that governs reads ($tb, $maxCount); for $all the position, stream and type id
 * of each event (so filters run without touching disk); a bounded cache of recent event ids for
 * idempotent appends with expected revision `any`. Event bodies stay on disk.
 */
import { StoredEvent } from './record';

export const METADATA_EVENT_TYPE = '$metadata';
export const TOMBSTONE_EVENT_TYPE = '$streamDeleted';
/** $tb at or above this means "soft-deleted" (EventStoreDB writes long.MaxValue). */
export const SOFT_DELETED_TB = Number.MAX_SAFE_INTEGER;
const ID_CACHE_ENTRIES = 200_000;

export interface StreamMeta {
  /** Parsed JSON of the latest $metadata event, kept so a recreate can rewrite it minus $tb. */
  raw: Record<string, unknown>;
  truncateBefore: number | null;
  maxCount: number | null;
}

export interface StreamInfo {
  name: string;
  /** positions[r] is the log position of revision r. */
  positions: number[];
  tombstonePosition: number | null;
  meta: StreamMeta | null;
}

export function isMetastream(name: string): boolean {
  return name.startsWith('$$');
}

export function metastreamOf(name: string): string {
  return `$$${name}`;
}

export function isSoftDeleted(info: StreamInfo | undefined): boolean {
  return !!info?.meta && info.meta.truncateBefore !== null && info.meta.truncateBefore >= SOFT_DELETED_TB;
}

/** Reads the fields of a $metadata event that govern reads; null if it is not a JSON object. */
export function parseMeta(data: Buffer): StreamMeta | null {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const obj = raw as Record<string, unknown>;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { raw: obj, truncateBefore: num(obj.$tb), maxCount: num(obj.$maxCount) };
}

export class StreamIndex {
  private readonly streams = new Map<string, StreamInfo>();
  readonly allPositions: number[] = [];
  readonly allStreamIds: number[] = [];
  readonly allTypeIds: number[] = [];
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private readonly idCache = new Map<string, number>();

  get(name: string): StreamInfo | undefined {
    return this.streams.get(name);
  }

  /** The hard-delete status of `name`, also true for `$$x` when `x` is tombstoned. */
  isTombstoned(name: string): boolean {
    if (this.streams.get(name)?.tombstonePosition != null) return true;
    return isMetastream(name) && this.streams.get(name.slice(2))?.tombstonePosition != null;
  }

  private getOrCreate(name: string): StreamInfo {
    let info = this.streams.get(name);
    if (!info) {
      info = { name, positions: [], tombstonePosition: null, meta: null };
      this.streams.set(name, info);
    }
    return info;
  }

  intern(name: string): number {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return id;
  }

  nameOf(id: number): string {
    return this.names[id];
  }

  /** Applies one event in log order (recovery and live writes alike). */
  apply(ev: StoredEvent): void {
    this.allPositions.push(ev.position);
    this.allStreamIds.push(this.intern(ev.stream));
    this.allTypeIds.push(this.intern(ev.type));
    const info = this.getOrCreate(ev.stream);
    if (ev.tombstone) {
      info.tombstonePosition = ev.position;
      return;
    }
    info.positions.push(ev.position);
    this.rememberId(ev.stream, ev.id, ev.revision);
    if (isMetastream(ev.stream) && ev.type === METADATA_EVENT_TYPE) {
      this.getOrCreate(ev.stream.slice(2)).meta = parseMeta(ev.data);
    }
  }

  /** Revision at which `id` was written to `stream`, if still in the bounded cache. */
  recentRevisionOf(stream: string, id: string): number | undefined {
    return this.idCache.get(`${stream}\n${id}`);
  }

  private rememberId(stream: string, id: string, revision: number): void {
    const key = `${stream}\n${id}`;
    this.idCache.delete(key);
    this.idCache.set(key, revision);
    if (this.idCache.size > ID_CACHE_ENTRIES) this.idCache.delete(this.idCache.keys().next().value as string);
  }

  /** Index into allPositions of the first event at or after `position`. */
  firstAtOrAfter(position: number): number {
    let lo = 0;
    let hi = this.allPositions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.allPositions[mid] < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
