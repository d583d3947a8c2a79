import * as fs from 'node:fs';
import { InvalidInputError } from '../core/errors';
import { JsonlRecord, TOPICS, Topic } from '../schemas/types';

/** JSON-lines files of {topic, key, value}: one record a line (CONTRACT.md). */
export function writeJsonl(file: string, records: Iterable<unknown>): number {
  const fd = file === '-' ? 1 : fs.openSync(file, 'w');
  let n = 0;
  let buf: string[] = [];
  const flush = () => {
    if (buf.length) fs.writeSync(fd, buf.join(''));
    buf = [];
  };
  try {
    for (const r of records) {
      buf.push(JSON.stringify(r) + '\n');
      n++;
      if (buf.length >= 5000) flush();
    }
    flush();
  } finally {
    if (fd !== 1) fs.closeSync(fd);
  }
  return n;
}

export function readJsonl(file: string): JsonlRecord[] {
  if (!fs.existsSync(file)) throw new InvalidInputError(`${file}: no such file; make one with 'foresight simulate --out ${file}'`);
  const known = new Set<string>(TOPICS);
  const out: JsonlRecord[] = [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let rec: JsonlRecord;
    try {
      rec = JSON.parse(line) as JsonlRecord;
    } catch {
      throw new InvalidInputError(`${file}:${i + 1}: not JSON; each line must be {"topic","key","value"}`);
    }
    if (!rec || typeof rec !== 'object' || !known.has(rec.topic as Topic) || typeof rec.value !== 'object') {
      throw new InvalidInputError(`${file}:${i + 1}: expected {"topic": <a contract topic>, "key", "value"}`);
    }
    out.push(rec);
  });
  return out;
}
