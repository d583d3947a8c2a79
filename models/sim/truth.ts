import * as fs from 'node:fs';
import { SimTruth } from './simulate';

/** FILE.jsonl → FILE.truth.json: the simulator's ground truth beside its telemetry. */
export function truthPath(jsonl: string): string {
  return jsonl.replace(/\.jsonl$/, '') + '.truth.json';
}

export function readTruth(jsonl: string): SimTruth | null {
  const p = truthPath(jsonl);
  if (!fs.existsSync(p)) return null;
  return JSON.parse(fs.readFileSync(p, 'utf8')) as SimTruth;
}
