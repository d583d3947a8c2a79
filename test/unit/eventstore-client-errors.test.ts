import {
  DeadlineExceededError,
  StreamDeletedError as EsdbStreamDeletedError,
  UnavailableError as EsdbUnavailableError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { ConcurrencyError, ConfigError, ForesightError, UnavailableError } from '../../core/errors';
import { EsdbEventStore, mapEsdbError } from '../../eventstore/client';
import { StreamDeletedError } from '../../eventstore/errors';

describe('event-store adapter error mapping', () => {
  it('given a wrong expected version, then a retriable ConcurrencyError naming both revisions', () => {
    const lib = new WrongExpectedVersionError(undefined, { streamName: 'credential-a_b', expected: BigInt(3), current: BigInt(5) });
    const ours = mapEsdbError(lib, 'credential-a_b');
    expect(ours).toBeInstanceOf(ConcurrencyError);
    expect((ours as ConcurrencyError).retriable).toBe(true);
    expect(ours.message).toBe('stream credential-a_b: expected revision 3, actual 5');
  });

  it('given the server unavailable or a deadline exceeded, then a retriable UnavailableError', () => {
    for (const lib of [new EsdbUnavailableError(), new DeadlineExceededError()]) {
      const ours = mapEsdbError(lib, 's-1');
      expect(ours).toBeInstanceOf(UnavailableError);
      expect((ours as UnavailableError).retriable).toBe(true);
    }
    expect(mapEsdbError(Object.assign(new Error('14 UNAVAILABLE: x'), { code: 14 }), 's-1')).toBeInstanceOf(UnavailableError);
  });

  it('given a deleted stream, then our StreamDeletedError, not retriable', () => {
    const ours = mapEsdbError(EsdbStreamDeletedError.fromStreamName('hsm-1'), 'hsm-1');
    expect(ours).toBeInstanceOf(StreamDeletedError);
    expect((ours as StreamDeletedError).retriable).toBe(false);
  });

  it('given anything else, then a non-retriable ForesightError that keeps the cause', () => {
    const cause = new Error('boom');
    const ours = mapEsdbError(cause, 's-1') as ForesightError;
    expect(ours.retriable).toBe(false);
    expect(ours.message).toMatch(/boom.*s-1/);
    expect(ours.cause).toBe(cause);
  });

  it('given a malformed connection string, then a ConfigError naming the variable', () => {
    expect(() => EsdbEventStore.connect('esdb://')).toThrow(ConfigError);
    expect(() => EsdbEventStore.connect('esdb://')).toThrow(/EVENTSTORE_CONNECTION_STRING/);
  });
});
