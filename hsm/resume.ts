import type { Logger } from '../core/log';
import type { WorkloadRisk } from '../schemas/types';
import { committedOffsets, createSerde, readTopic, type KafkaConnection } from '../streams';

/**
 * Each client network's last forecast the group has already committed. A forecast waiting for
 * its lead time lives only in the role's memory: a restarted role hands these to the orchestrator
 * again (its commands are idempotent, so nothing done is done twice) and so waits again for
 * whatever the crashed one was waiting for, instead of until the network's next forecast.
 */
export async function lastCommittedForecasts(
  o: { kafka: KafkaConnection; registryUrl: string; groupId: string; topic: string; log: Logger },
): Promise<WorkloadRisk[]> {
  const committed = await committedOffsets(o.kafka, o.groupId, o.topic, o.log);
  if (![...committed.values()].some((offset) => offset > 0n)) return [];
  const serde = createSerde({ registryUrl: o.registryUrl });
  const last = new Map<string, WorkloadRisk>();
  await readTopic(o.kafka, o.topic, {
    fromBeginning: true,
    idleMs: 2000,
    timeoutMs: 60_000,
    log: o.log,
    onMessage: async (m) => {
      if (BigInt(m.offset) >= (committed.get(m.partition) ?? 0n)) return;
      try {
        const r = (await serde.decode('risk.workload', m.value)).value;
        last.set(r.clientNetworkId, r);
      } catch {
        // undecodable: the consumer dead-lettered it when it met it
      }
    },
  });
  return [...last.values()];
}
