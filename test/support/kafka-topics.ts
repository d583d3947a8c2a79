import type { Admin } from 'kafkajs';

const TRANSIENT = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION', 'NOT_LEADER_OR_FOLLOWER']);

/**
 * Creates a topic and waits until every partition has a leader. On KRaft the broker's metadata
 * can lag the controller's answer by a moment, and kafkajs's `waitForLeaders` only retries on
 * LEADER_NOT_AVAILABLE, so a metadata poll that also tolerates UNKNOWN_TOPIC_OR_PARTITION
 * (kafkajs#1563) makes tests deterministic.
 */
export async function createTopicReady(admin: Admin, topic: string, numPartitions = 1, timeoutMs = 30_000): Promise<void> {
  await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = md.topics[0]?.partitions ?? [];
      if (parts.length === numPartitions && parts.every((p) => p.leader >= 0)) return;
    } catch (e) {
      if (!TRANSIENT.has((e as { type?: string }).type ?? '')) throw e;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
