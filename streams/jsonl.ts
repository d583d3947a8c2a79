import type { Type } from 'avsc';
import { TOPICS, type Topic, type TopicRecords } from '../schemas';
import { schemaProblems } from './serde';
import { validateRecord } from './validate';

/** One checked line of a JSON-lines file: `{"topic","key","value"}` (CONTRACT.md). */
export interface CheckedLine<T extends Topic = Topic> {
  line: number;
  topic: T;
  key: string;
  value: TopicRecords[T];
}

export type LineResult = { ok: CheckedLine } | { problem: string } | { skip: true };

export interface LineCheckOptions {
  /** `--topic`: only lines of this topic; a line without `topic` is taken to be of it. */
  onlyTopic?: Topic;
  /** For the plausibility of timestamps. */
  now: number;
  readerType(topic: Topic): Type;
}

/**
 * Checks one line against its topic's schema and semantic rules, so `publish` can refuse a file
 * before sending anything. Pure: no registry, no broker. Extra top-level fields (e.g. partition
 * and offset from `alerts tail --json`) are ignored.
 */
export function checkLine(text: string, line: number, o: LineCheckOptions): LineResult {
  if (text.trim() === '') return { skip: true };
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON (${(err as Error).message})` };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { problem: 'not a JSON object with topic, key and value' };
  const rec = obj as { topic?: unknown; key?: unknown; value?: unknown };
  const topic = rec.topic ?? o.onlyTopic;
  if (typeof topic !== 'string') return { problem: 'no "topic"; add one or pass --topic' };
  if (!TOPICS.includes(topic as Topic)) return { problem: `unknown topic "${topic}"; known: ${TOPICS.join(', ')}` };
  if (o.onlyTopic && topic !== o.onlyTopic) return { skip: true };
  if (typeof rec.key !== 'string' || rec.key === '') return { problem: '"key" must be a non-empty string' };
  if (typeof rec.value !== 'object' || rec.value === null) return { problem: '"value" must be an object with the fields of the topic\'s schema' };
  const t = topic as Topic;
  const type = o.readerType(t);
  const problems = schemaProblems(type, rec.value);
  if (problems.length) return { problem: `${t}: ${problems.join('; ')}` };
  // Round trip: fills omitted fields with their defaults and drops unknown ones, so what is
  // checked next is exactly what will be sent.
  const value = type.fromBuffer(type.toBuffer(rec.value)) as TopicRecords[Topic];
  const semantic = validateRecord(t, value, o.now);
  if (semantic.length) return { problem: `${t}: ${semantic.join('; ')}` };
  return { ok: { line, topic: t, key: rec.key, value } };
}
