import { backoffDelay, withRetry } from '../../core/retry';
import { ForesightError, UnavailableError } from '../../core/errors';
import { createLogger } from '../../core/log';
import { loadConfig } from '../../core/config';

describe('retry', () => {
  it('given a retriable error, when it fails twice then succeeds, then it retries with bounded delays', async () => {
    const delays: number[] = [];
    let calls = 0;
    const out = await withRetry(
      async () => {
        if (++calls < 3) throw new UnavailableError('kafka', 'down');
        return 'ok';
      },
      { retries: 5, initialMs: 100, maxMs: 1000, random: () => 1, sleep: async (ms) => void delays.push(ms) },
    );
    expect(out).toBe('ok');
    expect(delays).toEqual([100, 200]);
  });

  it('given a non-retriable error, then it is thrown at once', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new ForesightError('X', 'bad');
        },
        { retries: 5, initialMs: 1, maxMs: 1, sleep: async () => {} },
      ),
    ).rejects.toThrow('bad');
    expect(calls).toBe(1);
  });

  it('caps the delay at maxMs', () => {
    expect(backoffDelay(20, { initialMs: 100, maxMs: 5000, random: () => 1 })).toBe(5000);
  });
});

describe('log redaction', () => {
  it('never writes a field that looks like a secret', () => {
    const lines: string[] = [];
    const log = createLogger({}, { write: (l) => lines.push(l) });
    log.info('issued', { userId: 'u1', password: 'hunter2', nested: { pin: '1234', ok: 1 } });
    expect(lines[0]).not.toContain('hunter2');
    expect(lines[0]).not.toContain('1234');
    expect(lines[0]).toContain('u1');
  });
});

describe('config', () => {
  it('defaults to the local stack', () => {
    const c = loadConfig({});
    expect(c.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(c.kafka.external).toBe(false);
    expect(c.eventStore.connectionString).toBe('esdb://127.0.0.1:2113?tls=false');
  });
  it('names the variable and the fix on bad input', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'nope' })).toThrow(/KAFKA_BROKERS.*host:port/);
    expect(() => loadConfig({ FORESIGHT_KAFKA_PORT: 'x' })).toThrow(/FORESIGHT_KAFKA_PORT/);
  });
});
