import type { Consumer } from 'kafkajs';
import { silentLogger } from '../../core/log';
import { connectAndSubscribe } from '../../streams/subscribe';

// A stand-in for kafkajs's consumer: only the order of connect/subscribe/disconnect matters here
// (the real broker race is what test/slow/reliability-crash-pipeline.test.ts ran into).
function fakeConsumer(failures: unknown[]): { consumer: Consumer; calls: string[] } {
  const calls: string[] = [];
  const consumer = {
    connect: async () => void calls.push('connect'),
    disconnect: async () => void calls.push('disconnect'),
    subscribe: async ({ topic }: { topic: string }) => {
      calls.push(`subscribe ${topic}`);
      const f = failures.shift();
      if (f) throw f;
    },
  } as unknown as Consumer;
  return { consumer, calls };
}

const notHosted = Object.assign(new Error('This server does not host this topic-partition'), { name: 'KafkaJSProtocolError', type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });

describe('connect and subscribe', () => {
  it('given a topic just created by another process and not yet known to the broker, then the subscription is retried, not the start abandoned (regression)', async () => {
    const { consumer, calls } = fakeConsumer([notHosted]);
    await connectAndSubscribe(consumer, ['ns.risk.access'], { fromBeginning: true, what: 'subscribe g', log: silentLogger });
    expect(calls).toEqual(['connect', 'subscribe ns.risk.access', 'disconnect', 'connect', 'subscribe ns.risk.access']);
  });

  it('given an error that will not pass (authorization), then it is raised at once as ours', async () => {
    const denied = Object.assign(new Error('Not authorized to access topics'), { name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', retriable: false });
    const { consumer, calls } = fakeConsumer([denied]);
    await expect(connectAndSubscribe(consumer, ['t'], { fromBeginning: true, what: 'subscribe g', log: silentLogger })).rejects.toMatchObject({ retriable: false, message: expect.stringContaining('subscribe g') });
    expect(calls).toEqual(['connect', 'subscribe t', 'disconnect']);
  });
});
