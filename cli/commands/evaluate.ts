import { UsageError, has, parseArgs, requireStr, str } from '../args';
import { initBackend } from '../../models/backend';
import { readJsonl, writeJsonl } from '../../models/jsonl';
import { evaluateModels, evaluationJson, featuresOf } from '../../models/pipeline';
import { readTruth } from '../../models/sim/truth';
import { disposeModels, hashFile, loadModels } from '../../models/store';
import { summaryTable } from '../../models/eval/summary';
import { writeReport } from '../../models/eval/report';

export const summary = 'metrics of the model and the baselines on data it did not train on';

const usage = 'foresight evaluate --model DIR --input FILE.jsonl [--json] [--report DIR] [--predictions OUT.jsonl]';

export const help = `usage: ${usage}

Scores every access window after the training period (on the training file) or after a
warm-up of the first 30% of the days (on any other file) with the model and two baselines
(hourOfWeek: the pair's own hour-of-week request frequency; logistic: logistic regression on the
model's features), per horizon: ROC-AUC, PR-AUC, Brier score, calibration; and the error of the
predicted access time. The workload forecaster is compared with Holt-Winters (sMAPE, MASE, peak)
and its security risk with the simulated attacks (FILE.truth.json beside the input, if there).

  --json                 print {"access":{"<horizon>":{"model":{"rocAuc","prAuc","brier",…},"<baseline>":{…}}},"workload":{…}}
  --report DIR           write DIR/README.md with tables and SVG charts
  --predictions OUT      every scored point: {"userId","vmId","at","horizon","model","hourOfWeek","logistic","label"}`;

export async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, { values: ['model', 'input', 'report', 'predictions'], switches: ['json'] }, usage);
  if (p.positional.length) throw new UsageError(`unexpected argument "${p.positional[0]}"; usage: ${usage}`);
  const dir = requireStr(p, 'model', usage);
  const input = requireStr(p, 'input', usage);
  await initBackend();
  const models = loadModels(dir);
  try {
    const features = featuresOf(readJsonl(input));
    const e = evaluateModels(models, features, hashFile(input), readTruth(input)?.attacks ?? null);
    const predictions = str(p, 'predictions');
    if (predictions) {
      writeJsonl(
        predictions,
        e.access.points.map((pt) => ({ userId: pt.userId, vmId: pt.vmId, at: new Date(pt.at).toISOString(), horizon: pt.horizon, model: pt.model, hourOfWeek: pt.hourOfWeek, logistic: pt.logistic, label: pt.label })),
      );
    }
    const report = str(p, 'report');
    if (report) writeReport(report, e, models.metadata.version);
    if (has(p, 'json')) console.log(JSON.stringify(evaluationJson(e, models.metadata.version)));
    else {
      console.log(`model ${models.metadata.version}; windows ending ${new Date(e.period.from).toISOString()} .. ${new Date(e.period.until).toISOString()}${e.period.sameDataAsTraining ? ' (held out from training)' : ''}`);
      console.log(summaryTable(e));
      if (report) console.log(`report: ${report}/README.md`);
      if (predictions) console.log(`predictions: ${predictions} (${e.access.points.length} points)`);
    }
    return 0;
  } finally {
    disposeModels(models);
  }
}
