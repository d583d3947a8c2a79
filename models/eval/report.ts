import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Evaluation } from '../pipeline';
import { summaryTable } from './summary';
import { lineChart, rocPoints, SeriesSpec } from './svg';

/** `evaluate --report DIR`: README.md with tables and SVG charts beside it. */
const COLORS: Record<string, string> = { model: '#1f77b4', hourOfWeek: '#ff7f0e', logistic: '#2ca02c', holtWinters: '#d62728', actual: '#333333' };

export function writeReport(dir: string, e: Evaluation, modelVersion: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, content: string) => {
    fs.writeFileSync(path.join(dir, name), content);
    files.push(name);
  };
  const md: string[] = [];
  md.push(`# Foresight model evaluation`, '');
  md.push(`Model \`${modelVersion}\`; evaluated on windows ending ${new Date(e.period.from).toISOString()} .. ${new Date(e.period.until).toISOString()}` + (e.period.sameDataAsTraining ? ' (the part of the training file that training held out).' : ' (a file the model did not train on, after a warm-up).'), '');
  md.push('```', summaryTable(e), '```', '');
  md.push('## Access risk', '', '| horizon | scorer | ROC-AUC | PR-AUC | Brier | ECE | n | positives |', '|---|---|---|---|---|---|---|---|');
  for (const [h, by] of Object.entries(e.access.metrics)) {
    for (const [sc, m] of Object.entries(by)) md.push(`| ${h} | ${sc} | ${m.rocAuc.toFixed(3)} | ${m.prAuc.toFixed(3)} | ${m.brier.toFixed(4)} | ${m.ece.toFixed(3)} | ${m.n} | ${m.positives} |`);
  }
  md.push('');
  for (const [h, by] of Object.entries(e.access.metrics)) {
    const pts = e.access.points.filter((p) => p.horizon === h);
    const labels = pts.map((p) => p.label);
    const roc: SeriesSpec[] = Object.keys(by).map((sc) => {
      const r = rocPoints(pts.map((p) => p[sc as 'model']), labels);
      return { name: `${sc} (${by[sc as 'model'].rocAuc.toFixed(3)})`, xs: r.fpr, ys: r.tpr, color: COLORS[sc] };
    });
    write(`roc-${h}.svg`, lineChart(`ROC, ${h}`, roc, { xLabel: 'false-positive rate', yLabel: 'true-positive rate', xRange: [0, 1], yRange: [0, 1], diagonal: true }));
    const cal: SeriesSpec[] = Object.entries(by).map(([sc, m]) => {
      const bins = m.calibration.filter((b) => b.count > 0);
      return { name: `${sc} (ECE ${m.ece.toFixed(3)})`, xs: bins.map((b) => b.meanScore), ys: bins.map((b) => b.positiveRate), color: COLORS[sc] };
    });
    write(`calibration-${h}.svg`, lineChart(`Calibration, ${h}`, cal, { xLabel: 'predicted probability', yLabel: 'observed rate', xRange: [0, 1], yRange: [0, 1], diagonal: true }));
    md.push(`### ${h}`, '', `![ROC ${h}](roc-${h}.svg) ![Calibration ${h}](calibration-${h}.svg)`, '');
  }
  md.push('### Predicted access time', '', '| scorer | MAE (hours) | with a prediction | requests |', '|---|---|---|---|');
  for (const [sc, t] of Object.entries(e.access.accessTime)) md.push(`| ${sc} | ${t.maeHours.toFixed(2)} | ${(100 * t.coverage).toFixed(0)}% | ${t.n} |`);
  md.push('', 'A missing prediction (probability below one half within a day) counts as predicting a day ahead.', '');
  if (e.workload) {
    const w = e.workload;
    md.push('## Workload', '', '| forecaster | sMAPE | MASE | peak-time error (h) | peak error | origins |', '|---|---|---|---|---|---|');
    for (const [name, m] of [['model', w.model], ['holtWinters', w.holtWinters]] as const) {
      md.push(`| ${name} | ${m.smape.toFixed(1)}% | ${m.mase.toFixed(3)} | ${m.peakTimeErrorHours.toFixed(2)} | ${m.peakErrorPct.toFixed(1)}% | ${m.origins} |`);
    }
    const s = w.security;
    md.push('', `Security risk (flag at ≥ ${s.threshold}): ${s.flagged} of ${s.attacks} simulated attacks flagged` + (s.meanLeadMinutes === null ? '' : `, on average ${s.meanLeadMinutes.toFixed(0)} minutes before the attack proper began`) + `; ${s.falseAlarmsPerDay.toFixed(2)} false alarms per network-day.`, '');
    if (w.series) {
      const x = w.series.at.map((t) => (t - w.series!.at[0]) / 3_600_000);
      write(
        'workload.svg',
        lineChart(`${w.series.clientNetworkId}: next-hour crypto ops/s`, [
          { name: 'actual', xs: x, ys: w.series.actual, color: COLORS.actual },
          { name: 'model', xs: x, ys: w.series.model, color: COLORS.model },
          { name: 'holtWinters', xs: x, ys: w.series.holtWinters, color: COLORS.holtWinters, dashed: true },
        ], { xLabel: 'hours into the evaluation period', yLabel: 'ops/s' }),
      );
      write('security.svg', lineChart(`${w.series.clientNetworkId}: security risk`, [{ name: 'risk', xs: x, ys: w.series.risk, color: COLORS.holtWinters }], { xLabel: 'hours into the evaluation period', yLabel: 'risk', yRange: [0, 1] }));
      md.push('![workload](workload.svg) ![security](security.svg)', '');
    }
  }
  write('README.md', md.join('\n') + '\n');
  return files;
}
