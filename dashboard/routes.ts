import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock';
import type { DashboardModel } from './model';
import { buildPage } from './page';

/**
 * The dashboard's HTTP side, mounted in front of another server's routes:
 *   GET /                  the page (HTML, CSS and script inline)
 *   GET /dashboard/state   the model's JSON snapshot, which the page polls
 * `handle` answers true when it served the request, false to let the host route it.
 */
export interface Dashboard {
  readonly model: DashboardModel;
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  stop(): Promise<void>;
}

export interface DashboardDeps {
  model: DashboardModel;
  clock: Clock;
  /** What feeds the model; stopped with the dashboard. */
  feeds?: { stop(): Promise<void> };
  /** Another assets folder (tests). */
  assetsDir?: string;
}

export function createDashboard(d: DashboardDeps): Dashboard {
  const page = buildPage(d.assetsDir);
  return {
    model: d.model,
    handle(req, res) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const pathname = new URL(req.url ?? '/', 'https://localhost').pathname;
      if (pathname === '/' || pathname === '/index.html') {
        res.writeHead(200, page.headers);
        res.end(req.method === 'HEAD' ? undefined : page.html);
        return true;
      }
      if (pathname === '/dashboard/state') {
        const body = JSON.stringify(d.model.view(d.clock.now()));
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return true;
      }
      return false;
    },
    async stop() {
      await d.feeds?.stop();
    },
  };
}
