/**
 * Streams.BatchAppend (bidirectional): the client multiplexes appends over one long-lived call,
 * each a run of requests sharing a correlation id (options first, proposed messages, is_final).
 * Answered per correlation id with success, or an error whose google.rpc.Status details pack the
 * reason (WrongExpectedVersion, StreamDeleted, MaximumAppendSizeExceeded) as EventStoreDB does.
 * Only advertised in ServerFeatures with --batch-append; otherwise the client never calls it.
 */
import { ServerDuplexStream, status as grpcStatus } from '@grpc/grpc-js';
import * as shared from '@eventstore/db-client/generated/shared_pb';
import * as rpcStatus from '@eventstore/db-client/generated/status_pb';
import * as streams from '@eventstore/db-client/generated/streams_pb';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import type { Logger } from '../core/log';
import { parseUuid, streamIdentifier, streamNameOf, toNumber, uuidMessage } from './convert';
import { Expected } from './decide';
import { ProposedEvent, Store, WriteResult } from './store';

type Call = ServerDuplexStream<streams.BatchAppendReq, streams.BatchAppendResp>;

interface Pending {
  stream: string;
  expected: Expected;
  events: ProposedEvent[];
  size: number;
  failure: rpcStatus.Status | null;
}

function expectedOf(o: streams.BatchAppendReq.Options): Expected | null {
  const C = streams.BatchAppendReq.Options.ExpectedStreamPositionCase;
  switch (o.getExpectedStreamPositionCase()) {
    case C.STREAM_POSITION:
      return { kind: 'revision', revision: toNumber(o.getStreamPosition()) };
    case C.NO_STREAM:
      return { kind: 'no_stream' };
    case C.ANY:
      return { kind: 'any' };
    case C.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return null;
  }
}

function failureStatus(code: grpcStatus, message: string, typeName: string, detail: { serializeBinary(): Uint8Array }): rpcStatus.Status {
  const any = new Any();
  any.pack(detail.serializeBinary(), typeName);
  const st = new rpcStatus.Status();
  st.setCode(code as number);
  st.setMessage(message);
  st.setDetails(any);
  return st;
}

function maxSizeStatus(max: number): rpcStatus.Status {
  const d = new shared.MaximumAppendSizeExceeded();
  d.setMaxappendsize(max);
  return failureStatus(grpcStatus.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, 'event_store.client.MaximumAppendSizeExceeded', d);
}

function badRequest(message: string): rpcStatus.Status {
  const d = new shared.BadRequest();
  d.setMessage(message);
  return failureStatus(grpcStatus.INVALID_ARGUMENT, message, 'event_store.client.BadRequest', d);
}

function resultStatus(stream: string, expected: Expected, result: WriteResult): rpcStatus.Status | null {
  if (result.kind === 'ok') return null;
  if (result.kind === 'stream_deleted') {
    const d = new shared.StreamDeleted();
    d.setStreamIdentifier(streamIdentifier(stream));
    return failureStatus(grpcStatus.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, 'event_store.client.StreamDeleted', d);
  }
  const d = new shared.WrongExpectedVersion();
  if (result.current < 0) d.setCurrentNoStream(new Empty());
  else d.setCurrentStreamRevision(String(result.current));
  if (expected.kind === 'revision') d.setExpectedStreamPosition(String(expected.revision));
  else if (expected.kind === 'any') d.setExpectedAny(new Empty());
  else if (expected.kind === 'stream_exists') d.setExpectedStreamExists(new Empty());
  else d.setExpectedNoStream(new Empty());
  return failureStatus(grpcStatus.FAILED_PRECONDITION, `WrongExpectedVersion on stream ${stream}`, 'event_store.client.WrongExpectedVersion', d);
}

function reply(cid: string, p: Pending, result: WriteResult | null, failure: rpcStatus.Status | null): streams.BatchAppendResp {
  const resp = new streams.BatchAppendResp();
  resp.setCorrelationId(uuidMessage(cid, false));
  resp.setStreamIdentifier(streamIdentifier(p.stream));
  const e = p.expected;
  if (e.kind === 'revision') resp.setStreamPosition(String(e.revision));
  else if (e.kind === 'any') resp.setAny(new Empty());
  else if (e.kind === 'stream_exists') resp.setStreamExists(new Empty());
  else resp.setNoStream(new Empty());
  if (failure || !result || result.kind !== 'ok') {
    resp.setError(failure ?? (resultStatus(p.stream, e, result as WriteResult) as rpcStatus.Status));
    return resp;
  }
  const ok = new streams.BatchAppendResp.Success();
  if (result.lastRevision < 0) ok.setNoStream(new Empty());
  else ok.setCurrentRevision(String(result.lastRevision));
  if (result.position === null) ok.setNoPosition(new Empty());
  else {
    const pos = new shared.AllStreamPosition();
    pos.setCommitPosition(String(result.position));
    pos.setPreparePosition(String(result.position));
    ok.setPosition(pos);
  }
  resp.setSuccess(ok);
  return resp;
}

export function batchAppendHandler(o: { store: Store; logger: Logger; maxAppendSize: number; openCalls: Set<() => void> }) {
  return function batchAppend(call: Call) {
    const pending = new Map<string, Pending>();
    let inflight = 0;
    let ended = false;
    let closed = false;
    // The client keeps this call open for its lifetime: shutdown ends it once in-flight appends land.
    const endOnShutdown = () => {
      ended = true;
      finishIfDone();
    };
    o.openCalls.add(endOnShutdown);
    const markClosed = () => {
      closed = true;
      o.openCalls.delete(endOnShutdown);
    };
    const finishIfDone = () => {
      if (ended && inflight === 0 && !closed) {
        markClosed();
        call.end();
      }
    };
    const send = (msg: streams.BatchAppendResp) => {
      if (!closed) call.write(msg);
    };
    call.on('cancelled', markClosed);
    call.on('error', markClosed);
    call.on('end', () => {
      ended = true;
      finishIfDone();
    });
    call.on('data', (req: streams.BatchAppendReq) => {
      const cid = parseUuid(req.getCorrelationId());
      if (!cid) return;
      let p = pending.get(cid);
      if (!p) {
        const opts = req.getOptions();
        const expected = opts ? expectedOf(opts) : null;
        p = { stream: opts ? streamNameOf(opts.getStreamIdentifier()) : '', expected: expected ?? { kind: 'any' }, events: [], size: 0, failure: null };
        if (!opts || !expected) p.failure = badRequest('the first batch-append message of a correlation id must carry options');
        pending.set(cid, p);
      }
      for (const pm of req.getProposedMessagesList()) {
        if (p.failure) break;
        const id = parseUuid(pm.getId());
        const meta = pm.getMetadataMap();
        const type = meta.get('type');
        const contentType = meta.get('content-type');
        if (!id || type === undefined || contentType === undefined) {
          p.failure = badRequest('every proposed message needs an id, a type and a content-type');
          break;
        }
        const data = Buffer.from(pm.getData_asU8());
        const metadata = Buffer.from(pm.getCustomMetadata_asU8());
        p.size += data.length + metadata.length;
        if (p.size > o.maxAppendSize) p.failure = maxSizeStatus(o.maxAppendSize);
        else p.events.push({ id, type, isJson: contentType === 'application/json', data, metadata });
      }
      if (!req.getIsFinal()) return;
      pending.delete(cid);
      const done = p;
      if (done.failure) return send(reply(cid, done, null, done.failure));
      inflight++;
      o.store.append(done.stream, done.expected, done.events).then(
        (result) => send(reply(cid, done, result, null)),
        (err) => {
          o.logger.error('batch append failed', { err });
          const d = new shared.Unknown();
          send(reply(cid, done, null, failureStatus(grpcStatus.UNAVAILABLE, 'esdb-local could not complete the append', 'event_store.client.Unknown', d)));
        },
      ).finally(() => {
        inflight--;
        finishIfDone();
      });
    });
  };
}
