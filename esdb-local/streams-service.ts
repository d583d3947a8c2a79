/**
 * event_store.client.streams.Streams over @grpc/grpc-js: Append (client streaming), Read (server
 * streaming: reads and catch-up subscriptions), Delete and Tombstone (unary). BatchAppend lives in
 * batch-append.ts.
 */
import {
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import * as shared from '@eventstore/db-client/generated/shared_pb';
import * as streams from '@eventstore/db-client/generated/streams_pb';
import type { Logger } from '../core/log';
import { eventResp, parseUuid, streamNameOf, streamNotFoundResp, toNumber } from './convert';
import { Expected } from './decide';
import { EventFilter, checkpointEvery, makeFilter } from './filters';
import { Direction, From, planPositions, planStreamRead, readAllPositions } from './read';
import * as errors from './rpc-errors';
import { ProposedEvent, Store, WriteResult } from './store';
import { SubscriptionTarget, subscribe } from './subscriptions';

export interface StreamsServiceOptions {
  store: Store;
  logger: Logger;
  maxAppendSize: number;
  /** Closers of live subscriptions, so shutdown can end them. */
  subscriptions: Set<() => void>;
}

type ExpectedOptions = {
  getExpectedStreamRevisionCase(): number;
  getRevision(): string;
};

function expectedOf(opts: ExpectedOptions, cases: { REVISION: number; NO_STREAM: number; ANY: number; STREAM_EXISTS: number }): Expected | null {
  switch (opts.getExpectedStreamRevisionCase()) {
    case cases.REVISION:
      return { kind: 'revision', revision: toNumber(opts.getRevision()) };
    case cases.NO_STREAM:
      return { kind: 'no_stream' };
    case cases.ANY:
      return { kind: 'any' };
    case cases.STREAM_EXISTS:
      return { kind: 'stream_exists' };
    default:
      return null;
  }
}

function appendResp(result: WriteResult, expected: Expected): streams.AppendResp {
  const resp = new streams.AppendResp();
  if (result.kind === 'ok') {
    const ok = new streams.AppendResp.Success();
    if (result.lastRevision < 0) ok.setNoStream(new shared.Empty());
    else ok.setCurrentRevision(String(result.lastRevision));
    if (result.position === null) ok.setNoPosition(new shared.Empty());
    else {
      const pos = new streams.AppendResp.Position();
      pos.setCommitPosition(String(result.position));
      pos.setPreparePosition(String(result.position));
      ok.setPosition(pos);
    }
    resp.setSuccess(ok);
    return resp;
  }
  if (result.kind !== 'wrong_expected_version') throw new Error(`not an append reply: ${result.kind}`);
  const wev = new streams.AppendResp.WrongExpectedVersion();
  if (result.current < 0) wev.setCurrentNoStream(new shared.Empty());
  else wev.setCurrentRevision(String(result.current));
  switch (expected.kind) {
    case 'any':
      wev.setExpectedAny(new shared.Empty());
      break;
    case 'no_stream':
      wev.setExpectedNoStream(new shared.Empty());
      break;
    case 'stream_exists':
      wev.setExpectedStreamExists(new shared.Empty());
      break;
    case 'revision':
      wev.setExpectedRevision(String(expected.revision));
      break;
  }
  resp.setWrongExpectedVersion(wev);
  return resp;
}

function storeFailure(logger: Logger, op: string, err: unknown): errors.RpcError {
  logger.error('store operation failed', { op, err });
  return errors.unavailable(`esdb-local could not complete ${op}; retry after the server restarts`);
}

export function streamsService(o: StreamsServiceOptions): UntypedServiceImplementation {
  const { store, logger } = o;

  function append(call: ServerReadableStream<streams.AppendReq, streams.AppendResp>, callback: sendUnaryData<streams.AppendResp>) {
    let options: streams.AppendReq.Options | undefined;
    const events: ProposedEvent[] = [];
    let size = 0;
    let finished = false;
    const fail = (err: errors.RpcError) => {
      if (finished) return;
      finished = true;
      callback(err);
    };
    call.on('data', (req: streams.AppendReq) => {
      if (finished) return;
      if (!options) {
        options = req.getOptions();
        if (!options) fail(errors.invalidArgument('the first append message must carry options'));
        return;
      }
      const pm = req.getProposedMessage();
      if (!pm) return fail(errors.invalidArgument('expected a proposed message'));
      const id = parseUuid(pm.getId());
      if (!id) return fail(errors.invalidArgument('every proposed message needs an id'));
      const meta = pm.getMetadataMap();
      const type = meta.get('type');
      if (type === undefined) return fail(errors.requiredMetadataMissing('type'));
      const contentType = meta.get('content-type');
      if (contentType === undefined) return fail(errors.requiredMetadataMissing('content-type'));
      const data = Buffer.from(pm.getData_asU8());
      const metadata = Buffer.from(pm.getCustomMetadata_asU8());
      size += data.length + metadata.length;
      if (size > o.maxAppendSize) return fail(errors.maxAppendSizeExceeded(o.maxAppendSize));
      events.push({ id, type, isJson: contentType === 'application/json', data, metadata });
    });
    call.on('error', () => {
      finished = true;
    });
    call.on('end', () => {
      if (finished) return;
      if (!options) return fail(errors.invalidArgument('append sent no options'));
      const stream = streamNameOf(options.getStreamIdentifier());
      const expected = expectedOf(options, streams.AppendReq.Options.ExpectedStreamRevisionCase);
      if (!expected) return fail(errors.invalidArgument('append options carry no expected revision'));
      store.append(stream, expected, events).then(
        (result) => {
          if (finished) return;
          finished = true;
          if (result.kind === 'stream_deleted') callback(errors.streamDeleted(stream));
          else callback(null, appendResp(result, expected));
        },
        (err) => fail(storeFailure(logger, 'append', err)),
      );
    });
  }

  function deleteLike(
    op: 'Delete' | 'Tombstone',
    options: streams.DeleteReq.Options | streams.TombstoneReq.Options | undefined,
    reply: (position: number | null) => void,
    fail: (err: errors.RpcError) => void,
  ) {
    if (!options) return fail(errors.invalidArgument(`${op} needs options`));
    const stream = streamNameOf(options.getStreamIdentifier());
    const expected = expectedOf(options, streams.DeleteReq.Options.ExpectedStreamRevisionCase);
    if (!expected) return fail(errors.invalidArgument(`${op} options carry no expected revision`));
    const run = op === 'Delete' ? store.softDelete(stream, expected) : store.tombstone(stream, expected);
    run.then(
      (result) => {
        if (result.kind === 'ok') reply(result.position);
        else if (result.kind === 'stream_deleted') fail(errors.streamDeleted(stream));
        else fail(errors.wrongExpectedVersion(op, stream, expected, result.current));
      },
      (err) => fail(storeFailure(logger, op, err)),
    );
  }

  function del(call: ServerUnaryCall<streams.DeleteReq, streams.DeleteResp>, callback: sendUnaryData<streams.DeleteResp>) {
    deleteLike(
      'Delete',
      call.request.getOptions(),
      (position) => {
        const resp = new streams.DeleteResp();
        if (position === null) resp.setNoPosition(new shared.Empty());
        else {
          const pos = new streams.DeleteResp.Position();
          pos.setCommitPosition(String(position));
          pos.setPreparePosition(String(position));
          resp.setPosition(pos);
        }
        callback(null, resp);
      },
      (err) => callback(err),
    );
  }

  function tombstone(call: ServerUnaryCall<streams.TombstoneReq, streams.TombstoneResp>, callback: sendUnaryData<streams.TombstoneResp>) {
    deleteLike(
      'Tombstone',
      call.request.getOptions(),
      (position) => {
        const resp = new streams.TombstoneResp();
        if (position === null) resp.setNoPosition(new shared.Empty());
        else {
          const pos = new streams.TombstoneResp.Position();
          pos.setCommitPosition(String(position));
          pos.setPreparePosition(String(position));
          resp.setPosition(pos);
        }
        callback(null, resp);
      },
      (err) => callback(err),
    );
  }

  function read(call: ServerWritableStream<streams.ReadReq, streams.ReadResp>) {
    readImpl(call).catch((err) => {
      logger.error('read failed', { err });
      call.emit('error', errors.internal('esdb-local read failed; see the server log'));
    });
  }

  async function readImpl(call: ServerWritableStream<streams.ReadReq, streams.ReadResp>) {
    const options = call.request.getOptions();
    if (!options) return call.emit('error', errors.invalidArgument('read needs options'));
    const structured = options.getUuidOption()?.hasStructured() ?? false;
    const direction: Direction = options.getReadDirection() === streams.ReadReq.Options.ReadDirection.BACKWARDS ? 'backwards' : 'forwards';
    const C = streams.ReadReq.Options;
    let filter: EventFilter | null;
    try {
      filter = filterOf(options);
    } catch (err) {
      return call.emit('error', errors.invalidArgument(`bad filter: ${err instanceof Error ? err.message : String(err)}`));
    }
    const subscription = options.getCountOptionCase() === C.CountOptionCase.SUBSCRIPTION;
    const count = subscription ? 0 : toNumber(options.getCount());
    if (options.getStreamOptionCase() === C.StreamOptionCase.STREAM) {
      const so = options.getStream() as streams.ReadReq.Options.StreamOptions;
      const stream = streamNameOf(so.getStreamIdentifier());
      const R = C.StreamOptions.RevisionOptionCase;
      const from: From =
        so.getRevisionOptionCase() === R.REVISION ? toNumber(so.getRevision()) : so.getRevisionOptionCase() === R.END ? 'end' : 'start';
      if (subscription) {
        if (store.index.isTombstoned(stream)) return call.emit('error', errors.streamDeleted(stream));
        return subscribe(store, call, { kind: 'stream', stream, from }, structured, o.subscriptions);
      }
      const plan = planStreamRead(store, stream, from, direction, count);
      if (plan.kind === 'deleted') return call.emit('error', errors.streamDeleted(stream));
      if (plan.kind === 'not_found') {
        call.write(streamNotFoundResp(stream));
        return call.end();
      }
      return writeAll(call, planPositions(plan), structured);
    }
    if (options.getStreamOptionCase() !== C.StreamOptionCase.ALL) {
      return call.emit('error', errors.invalidArgument('read needs stream or $all options'));
    }
    const ao = options.getAll() as streams.ReadReq.Options.AllOptions;
    const A = C.AllOptions.AllOptionCase;
    const from: From =
      ao.getAllOptionCase() === A.POSITION
        ? toNumber((ao.getPosition() as streams.ReadReq.Options.Position).getCommitPosition())
        : ao.getAllOptionCase() === A.END
          ? 'end'
          : 'start';
    if (subscription) {
      const fo = options.getFilter();
      const target: SubscriptionTarget = {
        kind: 'all',
        from,
        filter,
        checkpointEvery: checkpointEvery(fo?.hasMax() ? fo.getMax() : null, fo?.getCheckpointintervalmultiplier() ?? 1),
      };
      return subscribe(store, call, target, structured, o.subscriptions);
    }
    return writeAll(call, readAllPositions(store, from, direction, count, filter), structured);
  }

  async function writeAll(call: ServerWritableStream<streams.ReadReq, streams.ReadResp>, positions: Iterable<number>, structured: boolean) {
    let cancelled = false;
    call.on('cancelled', () => (cancelled = true));
    call.on('error', () => (cancelled = true));
    for (const position of positions) {
      if (cancelled) return;
      if (!call.write(eventResp(store.eventAt(position), structured))) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            call.off('cancelled', done);
            resolve();
          };
          call.on('drain', done);
          call.on('cancelled', done);
        });
      }
    }
    call.end();
  }

  return { append, read, delete: del, tombstone };
}

function filterOf(options: streams.ReadReq.Options): EventFilter | null {
  const C = streams.ReadReq.Options;
  if (options.getFilterOptionCase() !== C.FilterOptionCase.FILTER) return null;
  const fo = options.getFilter() as streams.ReadReq.Options.FilterOptions;
  const F = C.FilterOptions.FilterCase;
  const on = fo.getFilterCase() === F.EVENT_TYPE ? 'type' : 'stream';
  const expr = on === 'type' ? fo.getEventType() : fo.getStreamIdentifier();
  return makeFilter(on, expr?.getPrefixList() ?? [], expr?.getRegex() ?? '');
}
