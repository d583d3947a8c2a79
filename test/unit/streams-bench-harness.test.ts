import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { benchFiles, renderMarkdown, runBenchmarks } from '../../bench/harness';

// The harness on fake benchmarks: loads every file, survives one that throws or fails to load.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-'));
const write = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), body);
write('types.ts', 'export {};');
write('harness.ts', 'throw new Error("never loaded");');
write(
  'fast.ts',
  `export const benchmark = { id: 'fast', needs: [], run: async (ctx) => [{ name: 'Fast thing', baseline: 'slow thing', baselineValue: 10, subjectValue: 25, unit: 'ops/s', ratio: 2.5, higherIsBetter: true, note: ctx.quick ? 'quick' : 'full' }] };`,
);
write('broken.ts', `export const benchmark = { id: 'broken', needs: ['kafka'], run: async () => { throw new Error('broker fell over'); } };`);
write('nothing.ts', 'export const notABenchmark = 1;');

describe('bench harness', () => {
  it('finds every benchmark file but its own', () => {
    expect(benchFiles(dir)).toEqual(['broken.ts', 'fast.ts', 'nothing.ts']);
  });

  it('runs them all, reporting a throwing or malformed one as failed, and asks for the stack it needs', async () => {
    const asked: string[][] = [];
    const r = await runBenchmarks({ quick: true, dir, ensureStack: async (needs) => void asked.push([...needs]) });
    expect(asked).toEqual([['kafka']]);
    expect(r.benchmarks.map((b) => [b.id, b.ok, b.error])).toEqual([
      ['broken', false, 'broker fell over'],
      ['fast', true, undefined],
      ['nothing', false, expect.stringMatching(/does not export "benchmark: Benchmark"/)],
    ]);
    expect(r.machine.cores).toBeGreaterThan(0);
    const md = renderMarkdown(r);
    expect(md).toMatch(/\| Fast thing \| slow thing \| 10\.0 ops\/s \| 25\.0 ops\/s \| \*\*2\.500\*\* \| higher is better \| quick \|/);
    expect(md).toMatch(/\| broken \| — \| — \| — \| — \| \*\*failed\*\* \| broker fell over \|/);
    expect(md).toMatch(/GiB memory/);
  });

  it('runs only the benchmarks asked for', async () => {
    const r = await runBenchmarks({ quick: true, dir, only: ['fast'] });
    expect(r.benchmarks.map((b) => b.id)).toEqual(['fast']);
  });
});
