import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ManualClock } from '../../core/clock';
import { DashboardModel } from '../../dashboard/model';
import { createDashboard } from '../../dashboard/routes';
import type { DashboardState } from '../../dashboard/state';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);

function call(d: ReturnType<typeof createDashboard>, method: string, url: string) {
  const out: { served: boolean; status?: number; headers: Record<string, string>; body?: string } = { served: false, headers: {} };
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      out.status = status;
      out.headers = headers;
      return res;
    },
    end(body?: string) {
      out.body = body;
    },
  };
  out.served = d.handle({ method, url } as IncomingMessage, res as unknown as ServerResponse);
  return out;
}

const model = new DashboardModel();
model.alert({ eventId: 'a1', timestamp: T0, subject: 'pool', kind: 'POOL_EXHAUSTED', severity: 'CRITICAL', message: 'pool exhausted', details: {} });
const dash = createDashboard({ model, clock: new ManualClock(T0) });

describe('dashboard routes', () => {
  it('given GET /, then the page comes with its script and style inline, allowed by hash and nothing else', () => {
    const r = call(dash, 'GET', '/');
    expect(r).toMatchObject({ served: true, status: 200 });
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    const js = fs.readFileSync(path.join(__dirname, '../../dashboard/assets/dashboard.js'), 'utf8');
    const hash = createHash('sha256').update(js, 'utf8').digest('base64');
    expect(r.body).toContain(js);
    expect(r.headers['content-security-policy']).toContain(`script-src 'sha256-${hash}'`);
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.headers['content-security-policy']).toContain("connect-src 'self'");
    // No external asset: the only absolute URL is the SVG namespace name, which is never fetched.
    expect((r.body ?? '').match(/https?:\/\/[^'"\s)]+/g)).toEqual(['http://www.w3.org/2000/svg']);
    expect(r.body).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|@import|url\(/);
  });

  it('given the page script, then data only ever reaches the page as text, never as markup', () => {
    const js = fs.readFileSync(path.join(__dirname, '../../dashboard/assets/dashboard.js'), 'utf8');
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('given GET /dashboard/state, then the model snapshot is served as JSON at the clock time', () => {
    const r = call(dash, 'GET', '/dashboard/state?x=1');
    expect(r).toMatchObject({ served: true, status: 200 });
    const s = JSON.parse(r.body!) as DashboardState;
    expect(s.generatedAt).toBe(T0);
    expect(s.alerts.map((a) => a.eventId)).toEqual(['a1']);
  });

  it('given any other route or method, then the host server routes it', () => {
    expect(call(dash, 'POST', '/').served).toBe(false);
    expect(call(dash, 'GET', '/healthz').served).toBe(false);
    expect(call(dash, 'GET', '/v1/access-requests').served).toBe(false);
  });
});
