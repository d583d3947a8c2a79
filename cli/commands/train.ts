import { UsageError, int, parseArgs, requireStr, str } from '../args';
import { initBackend } from '../../models/backend';
import { readJsonl } from '../../models/jsonl';
import { evaluateModels, evaluationJson, featuresOf, metadataOf, trainModels } from '../../models/pipeline';
import { progressBar } from '../../models/progress';
import { readTruth } from '../../models/sim/truth';
import { hashFile, saveModels } from '../../models/store';
import { summaryTable } from '../../models/eval/summary';

export const summary = 'trains the access-risk model and the workload forecaster';

const usage = 'foresight train --input FILE.jsonl --out DIR [--epochs N] [--workload-epochs N] [--holdout F] [--seed S]';

export const help = `usage: ${usage}

Computes features from the telemetry with the projections' own code, splits by time, trains
the access-risk GRU (probability of an access request within PT1H … P1D, and its time) and the
workload forecaster (GRU over Holt-Winters) on the earlier part, fits the logistic-regression
baseline on the same rows, and measures all of them on the held-out later part.

  --input FILE.jsonl   telemetry (and/or features.*) as JSON lines, e.g. from 'foresight simulate'
  --out DIR            model directory: metadata.json, model.json, weights.bin
  --epochs N           access-model epochs (default 12)
  --workload-epochs N  forecaster epochs (default 10)
  --holdout F          fraction of the days held out for evaluation (default 0.3)
  --seed S             weight initialisation and batch order (default 1)

The tfjs backend is tfjs-node when installed, else wasm (FORESIGHT_TF_BACKEND=wasm|cpu to force).`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['input', 'out', 'epochs', 'workload-epochs', 'holdout', 'seed'] }, usage);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${usage}`);
  const input = requireStr(p, 'input', usage);
  const out = requireStr(p, 'out', usage);
  const epochs = int(p, 'epochs', usage, 12, 1);
  const workloadEpochs = int(p, 'workload-epochs', usage, 10, 1);
  const seed = int(p, 'seed', usage, 1, 0);
  const holdoutRaw = str(p, 'holdout');
  const holdout = holdoutRaw === undefined ? 0.3 : Number(holdoutRaw);
  if (!(holdout > 0 && holdout < 1)) throw new UsageError(`--holdout must be a fraction between 0 and 1, e.g. 0.3, got "${holdoutRaw}"`);

  const backend = await initBackend();
  const bar = progressBar();
  const records = readJsonl(input);
  const dataHash = hashFile(input);
  bar.line(`read ${records.length} records from ${input}; computing features`);
  const features = featuresOf(records);
  bar.line(`${features.access.length} access windows, ${features.network.length} network windows; backend ${backend}`);
  const t0 = Date.now();
  const trained = await trainModels(features, {
    holdout,
    epochs,
    workloadEpochs,
    seed,
    onProgress: (phase, e, n, frac, loss) => bar.update(`${phase} epoch ${e}/${n}`, (e - 1 + frac) / n, `loss ${loss.toFixed(4)}`),
  });
  bar.done();
  const meta = metadataOf(trained, features, { createdAt: new Date().toISOString(), backend, dataHash, records: records.length });
  const models = { access: trained.access.model, workload: trained.workload?.model ?? null, metadata: meta };
  const evaluation = evaluateModels(models, features, dataHash, readTruth(input)?.attacks ?? null);
  const json = evaluationJson(evaluation, '(new)');
  const saved = await saveModels(out, { ...meta, metrics: { access: json.access, accessTime: json.accessTime, workload: json.workload } }, trained.access.model, trained.workload?.model ?? null);
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const perEpoch = (ms: number[]) => (ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length) / 1000).toFixed(2);
  console.log(`trained model ${saved.version} in ${secs}s on ${backend} → ${out}`);
  console.log(
    `  training ${new Date(meta.training.trainFrom).toISOString()} .. ${new Date(meta.training.trainUntil).toISOString()}, ` +
      `${trained.access.trainRows} access rows, ${perEpoch(meta.access.msByEpoch)}s/epoch access` +
      (meta.workload ? `, ${perEpoch(meta.workload.msByEpoch)}s/epoch workload` : ''),
  );
  console.log(`  held out ${new Date(evaluation.period.from).toISOString()} .. ${new Date(evaluation.period.until).toISOString()}:`);
  console.log(summaryTable(evaluation));
  return 0;
}
