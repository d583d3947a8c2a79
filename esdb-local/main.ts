/**
 * esdb-local: a single-node EventStoreDB-compatible gRPC server for local runs and CI.
 *
 *   npx tsx esdb-local/main.ts --host 127.0.0.1 --port 2113 --data <dir> [--tls-cert <pem> --tls-key <pem>]
 *
 * Logs one JSON line to stderr once it listens (with the bound port: --port 0 picks a free one),
 * exits 2 with one line on a bad flag, 1 on a taken port or an unreadable log, and on SIGTERM or
 * SIGINT stops accepting calls, lets pending writes finish, fsyncs and exits 0.
 */
import * as path from 'node:path';
import { setLogger } from '@grpc/grpc-js';
import { UsageError, int, parseArgs, requireStr, str } from '../cli/args';
import { createLogger } from '../core/log';
import { DEFAULT_MAX_APPEND_SIZE, PortInUseError, SERVER_VERSION, startServer } from './server';

const USAGE =
  'npx tsx esdb-local/main.ts --host 127.0.0.1 --port 2113 --data <dir> [--tls-cert <pem> --tls-key <pem>] [--max-append-size <bytes>] [--batch-append]';

async function main(argv: string[]): Promise<number> {
  const logger = createLogger({ component: 'esdb-local' });
  // grpc-js writes its own unstructured lines to stderr; keep stderr to our JSON lines and the
  // single-line start-up errors.
  const grpcLine = (...parts: unknown[]) => logger.debug('grpc', { detail: parts.map(String).join(' ') });
  setLogger({ error: grpcLine, info: grpcLine, debug: grpcLine });
  let opts;
  try {
    const p = parseArgs(
      argv,
      { values: ['host', 'port', 'data', 'tls-cert', 'tls-key', 'max-append-size'], switches: ['batch-append'] },
      USAGE,
    );
    if (p.flags.get('help')) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (p.positional.length > 0) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${USAGE}`);
    const port = int(p, 'port', USAGE, 2113);
    if (port > 65535) throw new UsageError(`--port must be at most 65535, got ${port}`);
    const cert = str(p, 'tls-cert');
    const key = str(p, 'tls-key');
    if ((cert === undefined) !== (key === undefined)) throw new UsageError(`--tls-cert and --tls-key go together; usage: ${USAGE}`);
    opts = {
      host: str(p, 'host') ?? '127.0.0.1',
      port,
      dataDir: path.resolve(requireStr(p, 'data', USAGE)),
      tls: cert && key ? { certFile: path.resolve(cert), keyFile: path.resolve(key) } : undefined,
      maxAppendSize: int(p, 'max-append-size', USAGE, DEFAULT_MAX_APPEND_SIZE, 1),
      batchAppend: p.flags.get('batch-append') === true,
      logger,
    };
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`esdb-local: ${err.message}\n`);
      return 2;
    }
    throw err;
  }

  let server;
  try {
    server = await startServer(opts);
  } catch (err) {
    const msg = err instanceof PortInUseError ? err.message : `cannot start: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`esdb-local: ${msg}\n`);
    return 1;
  }
  const r = server.store.recovery;
  // With --expose-gc (tests do this) the memory figures below show what the index really holds.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const mem = process.memoryUsage();
  logger.info('esdb-local started', {
    version: SERVER_VERSION,
    host: opts.host,
    port: server.port,
    tls: !!opts.tls,
    batchAppend: opts.batchAppend,
    data: opts.dataDir,
    events: r.events,
    end: server.store.durableEnd,
    truncatedBytes: r.truncatedBytes,
    heapUsedBytes: mem.heapUsed,
    arrayBuffersBytes: mem.arrayBuffers,
    pid: process.pid,
  });
  if (r.truncatedBytes > 0) logger.warn('cut a torn tail off the log', { truncatedBytes: r.truncatedBytes, at: r.end });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      server.close().then(
        () => {
          logger.info('esdb-local stopped', { signal });
          resolve(0);
        },
        (err) => {
          logger.error('esdb-local stopped uncleanly', { signal, err });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('uncaughtException', (err) => {
      logger.error('esdb-local crashed; a restart recovers from the log', { err });
      process.exit(1);
    });
    server.store.on('fatal', (err: Error) => {
      logger.error('log write failed; exiting so a restart recovers from disk', { err });
      process.exit(1);
    });
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`esdb-local: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
