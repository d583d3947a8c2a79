import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Topic } from './types';

export * from './types';

/** The .avsc of a topic's value, parsed. One file per topic, named after it. */
export function loadSchema(topic: Topic): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, `${topic}.avsc`), 'utf8'));
}
