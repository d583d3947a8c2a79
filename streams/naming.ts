import { TOPICS, type Topic } from '../schemas';

/**
 * Physical topic names. A namespace gives a test, a benchmark or a demo its own set of topics
 * (`<namespace>.<topic>`, with `.dlq`/`.late` after it) so runs never share records. Subjects
 * follow the physical name (TopicNameStrategy), as any other Confluent client would register them.
 */
export function physicalTopic(topic: Topic, namespace?: string): string {
  return namespace ? `${namespace}.${topic}` : topic;
}

export function logicalTopic(physical: string, namespace?: string): Topic | undefined {
  const bare = namespace ? (physical.startsWith(namespace + '.') ? physical.slice(namespace.length + 1) : undefined) : physical;
  return TOPICS.find((t) => t === bare);
}
