/**
 * Between stored events and the wire messages. Replies are built from the very message classes
 * @eventstore/db-client ships (the generated serializers check instanceof), and 64-bit numbers
 * travel as decimal strings (the stubs are generated with jstype=string).
 */
import * as shared from '@eventstore/db-client/generated/shared_pb';
import * as streams from '@eventstore/db-client/generated/streams_pb';
import { StoredEvent, TOMBSTONE_REVISION } from './record';

/** .NET ticks (100 ns) per millisecond; `created` is ticks since the Unix epoch. */
const TICKS_PER_MS = 10_000n;

export function streamNameOf(identifier: shared.StreamIdentifier | undefined): string {
  if (!identifier) return '';
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(name: string): shared.StreamIdentifier {
  const id = new shared.StreamIdentifier();
  id.setStreamName(Uint8Array.from(Buffer.from(name, 'utf8')));
  return id;
}

/** A UUID message (string or structured form) as its canonical string, or null if absent. */
export function parseUuid(uuid: shared.UUID | undefined): string | null {
  if (!uuid) return null;
  if (uuid.hasStructured()) {
    const s = uuid.getStructured() as shared.UUID.Structured;
    const hex = [s.getMostSignificantBits(), s.getLeastSignificantBits()]
      .map((v) => BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0'))
      .join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const str = uuid.getString();
  return str ? str.toLowerCase() : null;
}

export function uuidMessage(id: string, structured: boolean): shared.UUID {
  const uuid = new shared.UUID();
  if (!structured) {
    uuid.setString(id);
    return uuid;
  }
  const hex = id.replace(/-/g, '');
  const s = new shared.UUID.Structured();
  s.setMostSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(0, 16)}`)).toString());
  s.setLeastSignificantBits(BigInt.asIntN(64, BigInt(`0x${hex.slice(16)}`)).toString());
  uuid.setStructured(s);
  return uuid;
}

export function recordedEvent(ev: StoredEvent, structuredIds: boolean): streams.ReadResp.ReadEvent.RecordedEvent {
  const rec = new streams.ReadResp.ReadEvent.RecordedEvent();
  rec.setId(uuidMessage(ev.id, structuredIds));
  rec.setStreamIdentifier(streamIdentifier(ev.stream));
  rec.setStreamRevision(ev.tombstone ? TOMBSTONE_REVISION : String(ev.revision));
  rec.setPreparePosition(String(ev.position));
  rec.setCommitPosition(String(ev.position));
  const meta = rec.getMetadataMap();
  meta.set('type', ev.type);
  meta.set('content-type', ev.isJson ? 'application/json' : 'application/octet-stream');
  meta.set('created', (BigInt(Math.trunc(ev.createdMs)) * TICKS_PER_MS).toString());
  rec.setData(ev.data);
  rec.setCustomMetadata(ev.metadata);
  return rec;
}

export function eventResp(ev: StoredEvent, structuredIds: boolean): streams.ReadResp {
  const readEvent = new streams.ReadResp.ReadEvent();
  readEvent.setEvent(recordedEvent(ev, structuredIds));
  readEvent.setCommitPosition(String(ev.position));
  const resp = new streams.ReadResp();
  resp.setEvent(readEvent);
  return resp;
}

export function confirmationResp(subscriptionId: string): streams.ReadResp {
  const c = new streams.ReadResp.SubscriptionConfirmation();
  c.setSubscriptionId(subscriptionId);
  const resp = new streams.ReadResp();
  resp.setConfirmation(c);
  return resp;
}

export function caughtUpResp(): streams.ReadResp {
  const resp = new streams.ReadResp();
  resp.setCaughtUp(new streams.ReadResp.CaughtUp());
  return resp;
}

export function fellBehindResp(): streams.ReadResp {
  const resp = new streams.ReadResp();
  resp.setFellBehind(new streams.ReadResp.FellBehind());
  return resp;
}

export function checkpointResp(position: number): streams.ReadResp {
  const c = new streams.ReadResp.Checkpoint();
  c.setCommitPosition(String(position));
  c.setPreparePosition(String(position));
  const resp = new streams.ReadResp();
  resp.setCheckpoint(c);
  return resp;
}

export function streamNotFoundResp(stream: string): streams.ReadResp {
  const nf = new streams.ReadResp.StreamNotFound();
  nf.setStreamIdentifier(streamIdentifier(stream));
  const resp = new streams.ReadResp();
  resp.setStreamNotFound(nf);
  return resp;
}

/** A non-negative 64-bit decimal string as a JS number, saturating above 2^53 (never reached here). */
export function toNumber(s: string | number): number {
  const n = typeof s === 'number' ? s : Number(s);
  return Number.isFinite(n) ? Math.min(n, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
}
