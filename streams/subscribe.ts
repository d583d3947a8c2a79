import type { Consumer } from 'kafkajs';
import type { Logger } from '../core/log';
import { withRetry } from '../core/retry';
import { kafkaError } from './errors';

/**
 * Connects and subscribes, retrying what is retriable. Roles started together on a fresh
 * namespace create their topics at the same moment; a topic just created can be unknown to the
 * broker that answers the subscription's metadata request for a while ("does not host this
 * topic-partition"), and unretried that stopped the role's start.
 */
export async function connectAndSubscribe(consumer: Consumer, topics: readonly string[], o: { fromBeginning: boolean; what: string; log: Logger }): Promise<void> {
  await withRetry(
    async () => {
      try {
        await consumer.connect();
        for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: o.fromBeginning });
      } catch (err) {
        await consumer.disconnect().catch(() => undefined);
        throw kafkaError(err, o.what);
      }
    },
    { retries: 8, initialMs: 250, maxMs: 5000, onRetry: (err, attempt) => o.log.warn('subscription not ready, retrying', { attempt, error: err }) },
  );
}
