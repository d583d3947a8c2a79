import type { Evaluation } from '../pipeline';

/** The human-readable table `train` and `evaluate` print. */
const f3 = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '   -  ' : x.toFixed(3));

export function summaryTable(e: Evaluation): string {
  const lines: string[] = [];
  lines.push('  access   scorer       ROC-AUC  PR-AUC  Brier   ECE     n/pos');
  for (const [h, by] of Object.entries(e.access.metrics)) {
    for (const [sc, m] of Object.entries(by)) {
      lines.push(`  ${h.padEnd(8)} ${sc.padEnd(12)} ${f3(m.rocAuc)}   ${f3(m.prAuc)}   ${f3(m.brier)}   ${f3(m.ece)}   ${m.n}/${m.positives}`);
    }
  }
  const t = e.access.accessTime;
  lines.push(`  access time MAE (h): ${Object.entries(t).map(([k, v]) => `${k} ${v.maeHours.toFixed(2)}`).join(', ')} over ${t.model.n} requests`);
  if (e.workload) {
    const w = e.workload;
    lines.push(`  workload sMAPE: model ${w.model.smape.toFixed(1)}%, holtWinters ${w.holtWinters.smape.toFixed(1)}%; MASE: model ${f3(w.model.mase)}, holtWinters ${f3(w.holtWinters.mase)}`);
    const s = w.security;
    lines.push(
      `  security: ${s.flagged}/${s.attacks} attacks flagged` +
        (s.meanLeadMinutes === null ? '' : `, ${s.meanLeadMinutes.toFixed(0)} min before they began on average`) +
        `, ${s.falseAlarmsPerDay.toFixed(2)} false alarms per network-day`,
    );
  }
  return lines.join('\n');
}
