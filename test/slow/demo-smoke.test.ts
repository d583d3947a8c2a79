/**
 * `foresight demo` as a newcomer runs it, made small: the real stack, every role in one process,
 * real requests over mutual TLS. One bounded run to its summary; one stopped with Ctrl-C.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';

jest.setTimeout(600_000);

const ROOT = path.resolve(__dirname, '../..');

function demo(args: string[]): { out: () => string; exited: Promise<number | null>; signal(s: NodeJS.Signals): void } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/foresight.js'), 'demo', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { out: () => out, exited: new Promise((r) => child.on('exit', (c) => r(c))), signal: (s) => child.kill(s) };
}

const SMALL = ['--users', '6', '--vms', '4', '--networks', '1', '--api-port', '0'];

describe('foresight demo', () => {
  it('given a short bounded scenario, then it ends by itself with a summary of real requests and where to look next', async () => {
    const d = demo([...SMALL, '--minutes', '0.5', '--hours', '6', '--from-hour', '8']);
    const code = await d.exited;
    const out = d.out();
    expect({ code, tail: out.slice(-3000) }).toEqual({ code: 0, tail: expect.stringContaining('Summary:') });
    const m = /access requests\s+(\d+) \((\d+) failed\)\s+hit rate/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBe(0);
    expect(out).toMatch(/pre-provisioned\s+\d+ credentials/);
    expect(out).toContain('npx foresight audit replay');
    expect(out).toContain('npx foresight stack down');
  });

  it('given Ctrl-C during the live replay, then the roles stop cleanly and the summary still prints', async () => {
    const d = demo([...SMALL, '--minutes', '3', '--hours', '6', '--from-hour', '8']);
    const deadline = Date.now() + 300_000;
    while (!/live: /.test(d.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    await new Promise((r) => setTimeout(r, 8000));
    d.signal('SIGINT');
    const code = await d.exited;
    const out = d.out();
    expect({ code, tail: out.slice(-3000) }).toEqual({ code: 0, tail: expect.stringContaining('Summary:') });
    expect(out).toContain('stopping the roles');
  });
});
