/**
 * A consumer-group partition assigner for co-partitioned inputs: partition p of every subscribed
 * topic goes to the same member, as Kafka Streams assigns a task's partitions together. The
 * access task p folds vm-access p AND user-activity p; kafkajs's round-robin assigner would
 * split them between members whenever the partition count is not a multiple of the members.
 *
 * An adapter (kafkajs types), given to the transactional processor by the role.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const CO_PARTITIONED_ASSIGNER_NAME = 'ForesightCoPartitioned';

/** Pure: which member gets which partitions of which topics. Partition numbers go round-robin to sorted members. */
export function planCoPartitioned(memberIds: readonly string[], partitionsByTopic: ReadonlyMap<string, readonly number[]>): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const plan = new Map<string, Record<string, number[]>>(members.map((m) => [m, {}]));
  if (!members.length) return plan;
  const numbers = [...new Set([...partitionsByTopic.values()].flat())].sort((a, b) => a - b);
  numbers.forEach((p, i) => {
    const a = plan.get(members[i % members.length])!;
    for (const [topic, parts] of [...partitionsByTopic.entries()].sort(([x], [y]) => (x < y ? -1 : 1))) {
      if (parts.includes(p)) (a[topic] ??= []).push(p);
    }
  });
  return plan;
}

export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED_ASSIGNER_NAME,
  version: 1,
  async assign({ members, topics }) {
    const byTopic = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((m) => m.partitionId)]));
    const plan = planCoPartitioned(members.map((m) => m.memberId), byTopic);
    return [...plan.entries()].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: CO_PARTITIONED_ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
