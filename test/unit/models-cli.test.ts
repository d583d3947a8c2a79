import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../cli/main';

jest.setTimeout(240_000);

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const error = jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
  }
}

describe('simulate, train, evaluate on the command line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foresight-models-cli-'));
  const data = path.join(dir, 'sim.jsonl');
  const model = path.join(dir, 'model');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('given a small simulation, when trained and evaluated, then the contract outputs are there', async () => {
    const sim = await cli(['simulate', '--users', '8', '--vms', '6', '--networks', '1', '--days', '6', '--seed', '9', '--out', data]);
    expect(sim.code).toBe(0);
    const first = JSON.parse(fs.readFileSync(data, 'utf8').split('\n')[0]);
    expect(Object.keys(first).sort()).toEqual(['key', 'topic', 'value']);
    expect(fs.existsSync(path.join(dir, 'sim.truth.json'))).toBe(true);

    const train = await cli(['train', '--input', data, '--out', model, '--epochs', '1', '--workload-epochs', '1']);
    expect(train.err).toBe('');
    expect(train.code).toBe(0);
    expect(train.out).toMatch(/trained model \S+ in/);
    const meta = JSON.parse(fs.readFileSync(path.join(model, 'metadata.json'), 'utf8'));
    expect(meta.access.horizons).toEqual(expect.arrayContaining(['PT1H', 'P1D']));
    expect(meta.training.dataHash).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof meta.backend).toBe('string');
    expect(meta.access.featureNames.length).toBe(meta.access.shape.inputs);
    expect(fs.existsSync(path.join(model, 'weights.bin'))).toBe(true);

    const preds = path.join(dir, 'pred.jsonl');
    const report = path.join(dir, 'report');
    const ev = await cli(['evaluate', '--model', model, '--input', data, '--json', '--report', report, '--predictions', preds]);
    expect(ev.code).toBe(0);
    const json = JSON.parse(ev.out);
    for (const h of ['PT1H', 'P1D']) {
      for (const scorer of ['model', 'hourOfWeek', 'logistic']) {
        const m = json.access[h][scorer];
        expect(m.brier).toBeGreaterThanOrEqual(0);
        expect(typeof m.rocAuc).toBe('number');
        expect(typeof m.prAuc).toBe('number');
      }
    }
    expect(json.workload.model.smape).toBeGreaterThanOrEqual(0);
    expect(json.workload.holtWinters.smape).toBeGreaterThanOrEqual(0);
    expect(json.workload.security.attacks).toBeGreaterThanOrEqual(0);
    const line = JSON.parse(fs.readFileSync(preds, 'utf8').split('\n')[0]);
    expect(Object.keys(line).sort()).toEqual(['at', 'horizon', 'hourOfWeek', 'label', 'logistic', 'model', 'userId', 'vmId']);
    expect([0, 1]).toContain(line.label);
    expect(fs.readFileSync(path.join(report, 'README.md'), 'utf8')).toContain('## Access risk');
    expect(fs.readFileSync(path.join(report, 'roc-PT1H.svg'), 'utf8')).toContain('<svg');
  });

  it('given bad arguments, then each verb exits 2 with one line naming the fix', async () => {
    const r1 = await cli(['simulate', '--users', '2', '--vms', '2', '--networks', '0', '--days', '1']);
    expect(r1.code).toBe(2);
    expect(r1.err).toMatch(/--out FILE.jsonl or --publish/);
    const r2 = await cli(['train', '--input', path.join(dir, 'nope.jsonl')]);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/--out is required/);
    const r3 = await cli(['evaluate', '--model', path.join(dir, 'none'), '--input', data]);
    expect(r3.code).toBe(1);
    expect(r3.err.split('\n')).toHaveLength(1);
    expect(r3.err).toMatch(/foresight train/);
  });
});
