import { TOPICS } from '../../schemas';
import { catalogue, replicationFactorFrom, dlqHeaders, headersToStrings, INPUT_TOPICS, kafkaError, logicalTopic, physicalTopic, registryError, USER_PARTITIONS } from '../../streams';

describe('topic catalogue', () => {
  const specs = catalogue();
  const byName = new Map(specs.map((s) => [s.name, s]));

  it('lists every contract topic once', () => {
    for (const t of TOPICS) expect(byName.has(t)).toBe(true);
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
  });

  it('puts .dlq and .late beside every input topic, with the same partitions', () => {
    for (const t of INPUT_TOPICS) {
      expect(byName.get(`${t}.dlq`)?.partitions).toBe(byName.get(t)!.partitions);
      expect(byName.get(`${t}.late`)?.partitions).toBe(byName.get(t)!.partitions);
    }
  });

  it('co-partitions user-keyed topics and compacts the VM state table', () => {
    for (const t of ['telemetry.vm-access', 'telemetry.user-activity', 'features.access', 'risk.access']) expect(byName.get(t)!.partitions).toBe(USER_PARTITIONS);
    expect(byName.get('telemetry.vm-state')!.cleanup).toBe('compact');
  });

  it('names topics under a namespace and maps them back', () => {
    expect(catalogue('t1').every((s) => s.name.startsWith('t1.'))).toBe(true);
    expect(physicalTopic('alerts.admin', 'ns')).toBe('ns.alerts.admin');
    expect(logicalTopic('ns.alerts.admin', 'ns')).toBe('alerts.admin');
    expect(logicalTopic('other.alerts.admin', 'ns')).toBeUndefined();
  });
});

describe('DLQ headers', () => {
  it('name the reason and the source position, and survive a round trip as Kafka headers', () => {
    const h = dlqHeaders('invalid', 'userId is empty', { topic: 'telemetry.vm-access', partition: 3, offset: '42' }, 'g');
    const asKafka = Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Buffer.from(v)]));
    expect(headersToStrings(asKafka)).toEqual({
      'dlq.reason': 'invalid',
      'dlq.detail': 'userId is empty',
      'dlq.source.topic': 'telemetry.vm-access',
      'dlq.source.partition': '3',
      'dlq.source.offset': '42',
      'dlq.consumer.group': 'g',
    });
  });
});

describe('error mapping', () => {
  it('makes connection failures retriable and refusals not', () => {
    expect(registryError(Object.assign(new Error('Error, status 400: connect ECONNREFUSED'), { status: 400 }), 'x').retriable).toBe(true);
    expect(registryError({ status: 503, message: 'busy' }, 'x').retriable).toBe(true);
    expect(registryError({ status: 409, message: 'incompatible' }, 'x').retriable).toBe(false);
    expect(kafkaError(Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }), 'x').retriable).toBe(true);
    expect(kafkaError(Object.assign(new Error('no'), { name: 'KafkaJSNonRetriableError', retriable: false }), 'x').retriable).toBe(false);
  });
});

describe('replication factor', () => {
  it('is 1 locally, KAFKA_REPLICATION_FACTOR when set, and refused with the fix when nonsense', () => {
    expect(replicationFactorFrom({})).toBe(1);
    expect(replicationFactorFrom({ KAFKA_REPLICATION_FACTOR: '3' })).toBe(3);
    expect(() => replicationFactorFrom({ KAFKA_REPLICATION_FACTOR: 'three' })).toThrow(/KAFKA_REPLICATION_FACTOR=three .* use a whole number/);
  });
});
