import { brier, calibration, prAuc, rocAuc, smape } from '../../models/eval/metrics';
import { predictedAccessTime, toProbabilities } from '../../models/access/predict';
import { buildSequences, HORIZON_HOURS } from '../../models/access/dataset';
import { fitLogistic, predictLogistic } from '../../models/baselines/logistic';
import { hwForecast, hwUpdate, newHw } from '../../models/workload/holt-winters';
import { AccessFeatures } from '../../schemas/types';

const HOUR = 3_600_000;

describe('metrics', () => {
  it('given perfectly ranked scores, then ROC-AUC and PR-AUC are 1; given reversed, ROC-AUC is 0', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(prAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
  });

  it('given tied scores, then ROC-AUC counts ties as half', () => {
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(rocAuc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBeCloseTo(0.875);
  });

  it('given known scores, then Brier, calibration and sMAPE are the textbook values', () => {
    expect(brier([1, 0, 0.5], [1, 0, 1])).toBeCloseTo(0.25 / 3);
    const c = calibration([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1]);
    expect(c.ece).toBeCloseTo(0.05);
    expect(smape([100, 0], [50, 0])).toBeCloseTo((100 * (2 * 50) / 150) / 2);
  });
});

describe('access predictions', () => {
  it('given raw outputs, then probabilities never fall with a longer horizon', () => {
    const p = toProbabilities([0, -2, 1, 0.5]);
    for (let i = 1; i < p.length; i++) expect(p[i]).toBeGreaterThanOrEqual(p[i - 1]);
  });

  it('given a CDF crossing one half between 2 h and 4 h, then the predicted time is interpolated there', () => {
    const t = predictedAccessTime(0, [0.1, 0.3, 0.7, 0.8, 0.9, 0.95], HORIZON_HOURS);
    expect(t).toBe(3 * HOUR);
    expect(predictedAccessTime(0, [0.1, 0.1, 0.2, 0.2, 0.3, 0.4], HORIZON_HOURS)).toBeNull();
  });

  it('given a pair with requests at 10:00 and 12:00, then labels look ahead from the window end only', () => {
    const base = Date.UTC(2026, 0, 5);
    const w = (h: number, req: number): AccessFeatures => ({
      eventId: `e${h}`, timestamp: base + (h + 1) * HOUR, userId: 'u', vmId: 'v', windowStart: base + h * HOUR, windowEnd: base + (h + 1) * HOUR,
      featureVersion: 1, accesses: req, successes: req, failures: 0, accessRequests: req, actionCounts: {}, userActiveMinutes: 0, applications: 0, logins: 0,
      minutesSinceLastAccess: null, vmState: 'RUNNING', jobDueWithinHorizon: false, hourSin: 0, hourCos: 1, dowSin: 0, dowCos: 1,
    });
    const windows = [8, 9, 10, 11, 12, 13].map((h) => w(h, h === 10 || h === 12 ? 1 : 0));
    const [seq] = buildSequences([...windows].reverse());
    expect(seq.windows.map((x) => x.windowStart)).toEqual(windows.map((x) => x.windowStart));
    // window 9:00-10:00 ends at 10:00; a request in [10:00, 11:00) → PT1H label 1
    expect(seq.labels[1][0]).toBe(1);
    // window 10:00-11:00 holds a request itself but the next is at 12:00: PT1H 0, PT2H 1
    expect(seq.labels[2][0]).toBe(0);
    expect(seq.labels[2][1]).toBe(1);
    expect(seq.nextRequestAt[2]).toBe(base + 12.5 * HOUR);
    expect(seq.labels[5][5]).toBe(0);
  });
});

describe('baselines', () => {
  it('given separable rows, then logistic regression ranks them', () => {
    const rows = Array.from({ length: 200 }, (_, i) => ({ x: [i % 2 ? 1 : -1, 0.3], y: [i % 2], m: [1] }));
    const m = fitLogistic(rows, 1);
    expect(predictLogistic(m, [1, 0.3])[0]).toBeGreaterThan(0.8);
    expect(predictLogistic(m, [-1, 0.3])[0]).toBeLessThan(0.2);
  });

  it('given a clean daily season, then Holt-Winters forecasts it a day ahead', () => {
    const s = newHw(24);
    const y = (t: number) => 5 + Math.sin((2 * Math.PI * t) / 24);
    for (let t = 0; t < 24 * 5; t++) hwUpdate(s, { alpha: 0.2, beta: 0, gamma: 0.2 }, y(t));
    const f = hwForecast(s, 24)!;
    f.forEach((v, k) => expect(v).toBeCloseTo(y(24 * 5 + k), 1));
  });
});
