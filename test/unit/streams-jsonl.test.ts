import { formatLine, refusedLine } from '../../cli/commands/alerts';
import { checkLine, createSerde, type LineCheckOptions } from '../../streams';

const serde = createSerde({ registryUrl: 'http://unused' }); // readerType needs no registry
const now = Date.UTC(2026, 10, 21, 12);
const opts: LineCheckOptions = { now, readerType: (t) => serde.readerType(t) };
const alert = { eventId: 'a1', timestamp: now, subject: 'pool-gold', kind: 'POOL_EXHAUSTED', severity: 'CRITICAL', message: 'gold pool exhausted' };
const line = (o: object) => JSON.stringify(o);

describe('publish line checks', () => {
  it('accepts a record, filling omitted fields with their defaults', () => {
    const r = checkLine(line({ topic: 'alerts.admin', key: 'pool-gold', value: alert }), 3, opts);
    expect(r).toEqual({ ok: { line: 3, topic: 'alerts.admin', key: 'pool-gold', value: { ...alert, details: {} } } });
  });

  it('ignores extra top-level fields, as alerts tail --json writes them', () => {
    expect('ok' in checkLine(line({ topic: 'alerts.admin', key: 'k', value: alert, partition: 0, offset: 7 }), 1, opts)).toBe(true);
  });

  it.each([
    ['{not json', /not JSON/],
    ['[1,2]', /not a JSON object/],
    [line({ key: 'k', value: alert }), /no "topic"/],
    [line({ topic: 'alerts.nope', key: 'k', value: alert }), /unknown topic "alerts.nope"/],
    [line({ topic: 'alerts.admin', key: '', value: alert }), /"key" must be a non-empty string/],
    [line({ topic: 'alerts.admin', key: 'k', value: { ...alert, severity: 'MEH' } }), /severity: "MEH" is not one of INFO, WARNING, CRITICAL/],
    [line({ topic: 'alerts.admin', key: 'k', value: { ...alert, subject: '' } }), /subject is empty/],
    [line({ topic: 'alerts.admin', key: 'k', value: { ...alert, timestamp: now + 7 * 86_400_000 } }), /timestamp .* implausible/],
  ])('names the problem of %s', (text, problem) => {
    const r = checkLine(text, 1, opts);
    expect('problem' in r && r.problem).toMatch(problem);
  });

  it('with --topic, skips other topics and takes a line without topic to be of it', () => {
    const only = { ...opts, onlyTopic: 'alerts.admin' as const };
    expect(checkLine(line({ topic: 'notifications.user', key: 'u', value: {} }), 1, only)).toEqual({ skip: true });
    expect('ok' in checkLine(line({ key: 'k', value: alert }), 1, only)).toBe(true);
  });

  it('skips blank lines', () => {
    expect(checkLine('   ', 1, opts)).toEqual({ skip: true });
  });
});

describe('alerts tail lines', () => {
  it('reads as time, severity, kind, subject and message', () => {
    expect(formatLine('alerts.admin', 'pool-gold', { ...alert, details: { free: '0' } } as never)).toBe(
      '2026-11-21T12:00:00.000Z CRITICAL POOL_EXHAUSTED [pool-gold] gold pool exhausted  (free=0)',
    );
  });

  it('shows a user notification with its VM and schedule', () => {
    const n = { eventId: 'n', timestamp: now, userId: 'alice', kind: 'CREDENTIAL_REFRESH_SCHEDULED', vmId: 'vm-1', message: 'your credential will be refreshed', scheduledFor: now + 3_600_000 };
    expect(formatLine('notifications.user', 'alice', n as never)).toBe(
      '2026-11-21T12:00:00.000Z CREDENTIAL_REFRESH_SCHEDULED user=alice vm=vm-1: your credential will be refreshed (at 2026-11-21T13:00:00.000Z)',
    );
  });
});

describe('alerts tail on a DLQ', () => {
  it('shows why a record was refused and where it came from', () => {
    const m = {
      topic: 'telemetry.vm-access.dlq',
      partition: 0,
      offset: '4',
      key: 'u1',
      value: Buffer.from('garbage'),
      timestamp: now,
      headers: { 'dlq.reason': 'no-magic-byte', 'dlq.detail': 'first byte is 103, expected 0', 'dlq.source.topic': 'telemetry.vm-access', 'dlq.source.partition': '2', 'dlq.source.offset': '17' },
    };
    expect(refusedLine('dlq', m)).toBe('2026-11-21T12:00:00.000Z offset 4 key=u1 no-magic-byte: first byte is 103, expected 0 (from telemetry.vm-access[2]@17, 7 bytes)');
  });
});
