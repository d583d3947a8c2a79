import * as http from 'node:http';
import { ConfigError } from '../core/errors';
import type { Logger } from '../core/log';
import type { MetricsRegistry } from '../core/metrics';
import type { PipelineHealth } from './health';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Plain-HTTP operations endpoint of a `run` process, for Prometheus and orchestrators:
 * GET /metrics (the process's whole registry), GET /healthz (200 ready / 503 not, with each
 * dependency). Bound to 127.0.0.1 unless told otherwise; it carries no secrets.
 */
export async function startOpsServer(o: { port: number; host?: string; metrics: MetricsRegistry; health: () => Promise<PipelineHealth>; log: Logger }): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '/').split('?')[0]}`;
    if (route === 'GET /metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(o.metrics.render());
      return;
    }
    if (route === 'GET /healthz') {
      o.health()
        .then((h) => {
          res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
          res.end(JSON.stringify(h));
        })
        .catch((err: unknown) => {
          res.writeHead(503, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }));
        });
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'not found; try GET /metrics or GET /healthz' }));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`ops port ${o.port} is taken; pass --ops-port with a free port (0 picks one)`) : err),
    );
    server.listen(o.port, o.host ?? '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
  o.log.info('ops endpoint listening', { port, paths: ['/metrics', '/healthz'] });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
