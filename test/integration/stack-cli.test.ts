import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

// `foresight stack status --json` as a user runs it, against the stack globalSetup brought up.
const bin = path.join(__dirname, '..', '..', 'bin', 'foresight.js');
const run = promisify(execFile);

describe('foresight stack status --json', () => {
  test('prints every component with its health', async () => {
    const { stdout } = await run(process.execPath, [bin, 'stack', 'status', '--json'], { env: process.env });
    const s = JSON.parse(stdout);
    expect(s.kafka.brokers.length).toBeGreaterThan(0);
    expect(s.kafka.healthy).toBe(true);
    expect(typeof s.schemaRegistry.url).toBe('string');
    expect(s.schemaRegistry.healthy).toBe(true);
    expect(s.eventStore.connectionString).toMatch(/^esdb/);
    expect(s.eventStore.healthy || !s.eventStore.available).toBe(true);
    expect(s.hsm.module).toMatch(/\.so$/);
    expect(s.hsm.healthy).toBe(true);
    expect(stdout).not.toMatch(/pin"\s*:\s*"[^"]/i);
  });

  test('a wrong subcommand is one line naming the fix, exit 2', async () => {
    const err = await run(process.execPath, [bin, 'stack', 'sideways'], { env: process.env }).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
    expect((err as { stderr: string }).stderr).toMatch(/usage: foresight stack up/);
  });
});
