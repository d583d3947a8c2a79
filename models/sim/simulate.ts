import { JsonlRecord, TelemetryTopic, TopicRecords } from '../../schemas/types';
import { simulateJobs, simulateVms } from './infra';
import { simulateNetworks } from './network';
import { Population, SimAttack, SimConfig, buildPopulation } from './population';
import { Sink } from './sink';
import { simulateUsers } from './users';
import { DEFAULT_START } from './time';

/** What the telemetry does not say but evaluation needs: the simulated attacks and the split. */
export interface SimTruth {
  seed: number;
  start: number;
  end: number;
  driftAt: number;
  attacks: SimAttack[];
}

export interface SimResult {
  records: JsonlRecord<TelemetryTopic>[];
  truth: SimTruth;
  population: Population;
}

export type SimOptions = Pick<SimConfig, 'users' | 'vms' | 'networks' | 'days'> & Partial<Pick<SimConfig, 'seed' | 'start' | 'networkIntervalMs'>>;

const PREFIX: Record<TelemetryTopic, string> = {
  'telemetry.vm-access': 'acc',
  'telemetry.user-activity': 'act',
  'telemetry.vm-state': 'vms',
  'telemetry.scheduled-jobs': 'job',
  'telemetry.network': 'net',
};

export function normaliseConfig(o: SimOptions): SimConfig {
  return {
    users: o.users,
    vms: o.vms,
    networks: o.networks,
    days: o.days,
    seed: o.seed ?? 1,
    start: o.start ?? DEFAULT_START,
    networkIntervalMs: o.networkIntervalMs ?? 300_000,
  };
}

/** Deterministic: the same options give byte-identical records, in event-time order. */
export function simulate(options: SimOptions): SimResult {
  const cfg = normaliseConfig(options);
  const pop = buildPopulation(cfg);
  const sink = new Sink(pop.end);
  simulateVms(pop, sink);
  simulateJobs(pop, sink);
  simulateUsers(pop, sink);
  simulateNetworks(pop, sink);
  const order = sink.drafts.map((d, i) => ({ d, i }));
  order.sort((a, b) => a.d.value.timestamp - b.d.value.timestamp || a.i - b.i);
  const records = order.map(({ d }, n) => ({
    topic: d.topic,
    key: d.key,
    value: { eventId: `sim${cfg.seed}-${PREFIX[d.topic]}-${n}`, ...d.value } as TopicRecords[TelemetryTopic],
  }));
  const attacks = pop.networks.flatMap((n) => n.attacks).filter((a) => a.start < pop.end);
  return { records, truth: { seed: cfg.seed, start: cfg.start, end: pop.end, driftAt: pop.driftAt, attacks }, population: pop };
}
