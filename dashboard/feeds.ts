import type { Clock } from '../core/clock';
import { silentLogger, type Logger } from '../core/log';
import { backoffDelay } from '../core/retry';
import type { CredentialMetrics } from '../credentials/metrics';
import type { StoredEvent } from '../eventstore/port';
import type { AllocationEvent } from '../hsm/events';
import { done, ensureStreams, runConsumer, type AnyRecord, type KafkaConnection, type RunningConsumer } from '../streams';
import type { DashboardModel, DeliverySample } from './model';
import { addCounts, emptyCounts } from './series';

/**
 * The edges that feed the dashboard model:
 *   kafka       risk.access, risk.workload, alerts.admin through the streams/ consumer, in a
 *               consumer group of its own (so every API instance sees every record), from now on;
 *   eventStore  allocation-* streams from the start (a filtered catch-up subscription), then live;
 *   delivery    samples of this process's credential metrics on the injected clock.
 * None of them can stop the API: each reconnects with backoff and reports its state to the model.
 */
export type DashboardTopic = 'risk.access' | 'risk.workload' | 'alerts.admin';
export const DASHBOARD_TOPICS: readonly DashboardTopic[] = ['risk.access', 'risk.workload', 'alerts.admin'];

/** The event store side the feed needs (EsdbEventStore has it). */
export interface AllocationSource {
  subscribeByStreamPrefix(prefixes: string[], h: { onEvent(e: StoredEvent): void; onError(err: Error): void; onCaughtUp?(): void }): { stop(): Promise<void> };
}

export interface FeedOptions {
  kafka?: { connection: KafkaConnection; registryUrl: string; groupId: string; namespace?: string };
  allocations?: AllocationSource;
  /** Stream-name prefixes of the allocation streams to show; default every `allocation-` stream. */
  allocationPrefixes?: string[];
  metrics?: CredentialMetrics;
  clock: Clock;
  sampleMs?: number;
  log?: Logger;
  /** Backoff between reconnects. */
  retry?: { initialMs?: number; maxMs?: number };
}

const ALLOCATION_TYPES = new Set<string>([
  'PartitionsAllocated',
  'PartitionsReleased',
  'AllocationFailed',
  'ScaleOutRecommended',
  'PartitionConfigured',
  'RiskProfileApplied',
  'KeyRotated',
  'KeyVersionRetired',
  'PartitionQuarantined',
  'QuarantineLifted',
  'PolicyActionTaken',
] satisfies AllocationEvent['type'][]);

export function toAllocationEvent(e: StoredEvent): AllocationEvent | undefined {
  const d = e.data as { clientNetworkId?: unknown; at?: unknown } | null;
  if (!ALLOCATION_TYPES.has(e.type) || !d || typeof d !== 'object' || typeof d.clientNetworkId !== 'string' || typeof d.at !== 'string') return undefined;
  return { type: e.type, data: d } as AllocationEvent;
}

/** The credential metrics' cumulative figures now (the latency histogram over every path). */
export function deliverySampleOf(m: CredentialMetrics): DeliverySample {
  const s = m.snapshot();
  // Registering again returns the series CredentialMetrics registered under this name.
  const h = m.registry.histogram('foresight_access_request_seconds', 'Time to serve an access request, by path.');
  let latency = emptyCounts(h.buckets);
  for (const source of ['pre-provisioned', 'refreshed', 'on-demand']) latency = addCounts(latency, h.snapshot({ source }));
  // `hits` arrived with the metrics' stricter hit definition; before it, every pre-provisioned delivery was one.
  const hits = typeof (s as { hits?: unknown }).hits === 'number' ? (s as unknown as { hits: number }).hits : s.requests['pre-provisioned'];
  return { requests: s.requests, hits, hitRate: s.hitRate, latency, wasteRate: s.wasteRate, preProvisioned: s.preProvisioned, wasted: s.wasted, failures: s.failures };
}

export function startDashboardFeeds(model: DashboardModel, o: FeedOptions): { stop(): Promise<void> } {
  const log = (o.log ?? silentLogger).child({ component: 'dashboard' });
  const rp = { initialMs: o.retry?.initialMs ?? 1_000, maxMs: o.retry?.maxMs ?? 30_000 };
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  let wake: () => void = () => undefined;
  const stopSignal = new Promise<void>((r) => (wake = r));
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => (timers.delete(t), resolve()), ms);
      timers.add(t);
      void stopSignal.then(() => (clearTimeout(t), resolve()));
    });

  // Kafka: a consumer that is restarted whenever it fails to start or crashes.
  let consumer: RunningConsumer | undefined;
  let kafkaLoop: Promise<void> = Promise.resolve();
  if (o.kafka) {
    const k = o.kafka;
    const handle = async (r: AnyRecord<DashboardTopic>) => {
      if (r.topic === 'risk.access') model.accessRisk(r.value);
      else if (r.topic === 'risk.workload') model.workloadRisk(r.value);
      else model.alert(r.value);
      return done();
    };
    model.setFeed('kafka', { state: 'starting' });
    kafkaLoop = (async () => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          // Like every role at start-up: the topics and schemas it reads exist (idempotent).
          await ensureStreams({ kafka: k.connection, schemaRegistry: { url: k.registryUrl } }, { namespace: k.namespace, topics: DASHBOARD_TOPICS, retries: 0 });
          if (stopped) break;
          consumer = await runConsumer({
            kafka: k.connection,
            registryUrl: k.registryUrl,
            groupId: k.groupId,
            topics: DASHBOARD_TOPICS,
            namespace: k.namespace,
            fromBeginning: false,
            clock: o.clock,
            // Only looks: semantic checks are the processing roles' job, so a record they DLQ is not DLQ'd twice.
            validate: false,
            log,
            handle,
          });
          if (stopped) {
            await consumer.stop();
            break;
          }
          await Promise.race([consumer.ready, consumer.finished]);
          model.setFeed('kafka', { state: 'live' });
          attempt = 0;
          await consumer.finished;
          if (stopped) break;
          throw new Error('consumer stopped');
        } catch (err) {
          if (stopped) break;
          const detail = err instanceof Error ? err.message.split('\n')[0] : String(err);
          model.setFeed('kafka', { state: 'reconnecting', detail });
          log.warn('dashboard Kafka feed failed; reconnecting', { error: err });
          await consumer?.stop().catch(() => undefined);
          consumer = undefined;
          await pause(backoffDelay(attempt, rp));
        }
      }
    })();
  } else model.setFeed('kafka', { state: 'off' });

  // Event store: resubscribe from the start after a failure, on a fresh allocation state.
  let sub: { stop(): Promise<void> } | undefined;
  const allocations = o.allocations;
  const subscribe = (attempt: number): void => {
    if (stopped || !allocations) return;
    model.resetAllocations();
    model.setFeed('eventStore', { state: attempt ? 'reconnecting' : 'starting' });
    let live = false;
    const markLive = () => {
      if (!live) model.setFeed('eventStore', { state: 'live' });
      live = true;
    };
    sub = allocations.subscribeByStreamPrefix(o.allocationPrefixes ?? ['allocation-'], {
      onEvent(e) {
        markLive();
        const a = toAllocationEvent(e);
        try {
          if (a) model.allocation(a, e.id);
        } catch (err) {
          log.warn('allocation event not shown', { stream: e.stream, type: e.type, error: err });
        }
      },
      onCaughtUp: markLive,
      onError(err) {
        if (stopped) return;
        live = false;
        model.setFeed('eventStore', { state: 'reconnecting', detail: err.message.split('\n')[0] });
        log.warn('dashboard event store feed failed; resubscribing', { error: err });
        void pause(backoffDelay(attempt, rp)).then(() => subscribe(attempt + 1));
      },
    });
    // Not every server reports caught-up: a first subscription that opened counts as live.
    if (!attempt) markLive();
  };
  if (allocations) subscribe(0);
  else model.setFeed('eventStore', { state: 'off' });

  // Delivery metrics: cumulative figures sampled on the clock; the model takes the differences.
  let sampler: NodeJS.Timeout | undefined;
  if (o.metrics) {
    const m = o.metrics;
    const sample = () => model.deliverySample(o.clock.now(), deliverySampleOf(m));
    sample();
    sampler = setInterval(sample, o.sampleMs ?? 5_000);
    sampler.unref();
    model.setFeed('delivery', { state: 'live' });
  }

  return {
    async stop() {
      stopped = true;
      wake();
      if (sampler) clearInterval(sampler);
      for (const t of timers) clearTimeout(t);
      await sub?.stop();
      await consumer?.stop().catch(() => undefined);
      await kafkaLoop;
    },
  };
}
