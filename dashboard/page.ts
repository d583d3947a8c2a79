import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The dashboard page: one HTML document with its CSS and script inline (assets/), so it needs
 * nothing but this server — no CDN, no web fonts. The content security policy allows exactly
 * that inline script and style (by hash) and fetches to this origin only.
 */
export interface Page {
  html: string;
  headers: Record<string, string>;
}

const ASSETS = path.join(__dirname, 'assets');
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export function buildPage(dir = ASSETS): Page {
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  const css = read('dashboard.css');
  const js = read('dashboard.js');
  // split/join, not replace: the assets may contain `$&`-like sequences replace would expand.
  const html = read('dashboard.html').split('/*CSS*/').join(css).split('/*JS*/').join(js);
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(js)}`,
    `style-src ${sha256(css)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    html,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
  };
}
