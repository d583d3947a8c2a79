/**
 * Wires the store to a gRPC server: Streams and ServerFeatures, plaintext or TLS. Every other
 * EventStoreDB service (gossip, persistent subscriptions, projections, users, operations) is not
 * registered and answers UNIMPLEMENTED.
 */
import * as fs from 'node:fs';
import { Server, ServerCredentials, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import * as features from '@eventstore/db-client/generated/serverfeatures_pb';
import type { Empty } from '@eventstore/db-client/generated/shared_pb';
import type { Logger } from '../core/log';
import { batchAppendHandler } from './batch-append';
import { Store } from './store';
import { streamsService } from './streams-service';

export const SERVER_VERSION = '23.10.0-esdb-local';
/** EventStoreDB's default maximum append size (1 MiB of data and metadata). */
export const DEFAULT_MAX_APPEND_SIZE = 1024 * 1024;

export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  tls?: { certFile: string; keyFile: string };
  maxAppendSize?: number;
  /** Advertise BatchAppend in ServerFeatures (as EventStoreDB does); the client then uses it. */
  batchAppend?: boolean;
  logger: Logger;
}

export interface RunningServer {
  port: number;
  store: Store;
  /** Stops accepting calls, ends subscriptions, waits for pending writes, fsyncs and closes. */
  close(): Promise<void>;
}

function serverFeatures(batchAppend: boolean) {
  return {
    getSupportedMethods(_call: ServerUnaryCall<Empty, features.SupportedMethods>, callback: sendUnaryData<features.SupportedMethods>) {
      const reply = new features.SupportedMethods();
      reply.setEventStoreServerVersion(SERVER_VERSION);
      for (const name of ['read', 'append', 'delete', 'tombstone', ...(batchAppend ? ['batchappend'] : [])]) {
        const m = new features.SupportedMethod();
        m.setServiceName('event_store.client.streams.streams');
        m.setMethodName(name);
        reply.addMethods(m);
      }
      callback(null, reply);
    },
  };
}

export class PortInUseError extends Error {}

/**
 * grpc-js's createSsl keeps Node's TLS 1.2 floor and has no option to raise it; like Kafka's SSL
 * listener and the delivery API, the event store refuses anything below TLS 1.3.
 */
class Tls13ServerCredentials extends ServerCredentials {
  constructor(cert: Buffer, key: Buffer) {
    super({ requestCert: false, minVersion: 'TLSv1.3' }, { cert, key, minVersion: 'TLSv1.3' });
  }
  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const credentials = opts.tls
    ? new Tls13ServerCredentials(fs.readFileSync(opts.tls.certFile), fs.readFileSync(opts.tls.keyFile))
    : ServerCredentials.createInsecure();
  const store = new Store(opts.dataDir);
  /** Closers of long-lived calls (subscriptions, batch appends), so shutdown can end them. */
  const subscriptions = new Set<() => void>();
  const server = new Server({ 'grpc.max_receive_message_length': 17 * 1024 * 1024 });
  const maxAppendSize = opts.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  server.addService(StreamsService, {
    ...streamsService({ store, logger: opts.logger, maxAppendSize, subscriptions }),
    batchAppend: batchAppendHandler({ store, logger: opts.logger, maxAppendSize, openCalls: subscriptions }),
  });
  server.addService(ServerFeaturesService, serverFeatures(!!opts.batchAppend));
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${opts.host}:${opts.port}`, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
  } catch (err) {
    await store.close();
    const msg = err instanceof Error ? err.message : String(err);
    if (/EADDRINUSE|address already in use|No address added/i.test(msg)) {
      throw new PortInUseError(`port ${opts.port} on ${opts.host} is taken; stop whatever holds it or pass another --port`);
    }
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    port,
    store,
    close() {
      closing ??= (async () => {
        for (const end of [...subscriptions]) end();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 3000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        await store.close();
      })();
      return closing;
    },
  };
}
