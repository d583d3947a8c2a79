import { Population, SimAttack, SimNetwork } from './population';
import { Rng } from './rng';
import { Sink } from './sink';
import { DAY, HOUR, WEEK, dayOfWeek } from './time';
import { TrafficType } from '../../schemas/types';

/**
 * Client networks: a daily cycle around a local peak hour, quieter weekends, growth, an optional
 * nightly batch, noise; attacks with reconnaissance before them (port scans, probing
 * handshakes) and threat indicators during them; now and then a false-positive indicator.
 */
function diurnal(net: SimNetwork, t: number): number {
  const h = ((t % DAY) / HOUR - net.peakHour + 24) % 24;
  const dist = Math.min(h, 24 - h);
  return 0.25 + 0.75 * Math.exp(-(dist * dist) / (2 * 3.5 * 3.5));
}

function expectedOpsPerSec(net: SimNetwork, t: number, start: number): number {
  const weekend = dayOfWeek(t) >= 5 ? net.weekendFactor : 1;
  const growth = Math.pow(1 + net.growthPerWeek, (t - start) / WEEK);
  let batch = 1;
  if (net.batchHour !== null) {
    const h = (t % DAY) / HOUR;
    if (h >= net.batchHour && h < net.batchHour + 1) batch = net.batchFactor * 2;
  }
  return net.baseOpsPerSec * diurnal(net, t) * weekend * growth * batch;
}

function attackAt(net: SimNetwork, t: number): { attack: SimAttack; phase: 'precursor' | 'active' } | null {
  for (const a of net.attacks) {
    if (t >= a.start && t < a.end) return { attack: a, phase: 'active' };
    if (t >= a.precursorStart && t < a.start) return { attack: a, phase: 'precursor' };
  }
  return null;
}

export function simulateNetworks(pop: Population, sink: Sink): void {
  const { start, networkIntervalMs: step } = pop.config;
  const secs = step / 1000;
  for (const net of pop.networks) {
    const r = new Rng(pop.config.seed).fork(`traffic-${net.id}`);
    const traffic: TrafficType = r.pick(['WEB', 'DATABASE', 'CRYPTO', 'INTERACTIVE'] as const);
    let level = 1;
    for (let t = start + step; t <= pop.end; t += step) {
      // Slow AR(1) wander of the level: demand is not a pure function of the clock.
      level = Math.max(0.5, 1 + 0.97 * (level - 1) + r.normal(0, 0.02));
      const rate = expectedOpsPerSec(net, t - step / 2, start) * level * Math.exp(r.normal(0, 0.08));
      let ops = rate * secs;
      let handshakes = ops * r.uniform(0.08, 0.12);
      let bytesIn = ops * r.uniform(1800, 2200);
      const bytesOut = ops * r.uniform(2500, 3500);
      let flows = handshakes * r.uniform(1.1, 1.4);
      const indicators: string[] = [];
      const hit = attackAt(net, t - 1);
      if (hit?.phase === 'precursor') {
        if (r.chance(0.5)) indicators.push(hit.attack.kind === 'VOLUMETRIC' ? 'PORT_SCAN' : 'TLS_DOWNGRADE');
        flows *= 1.3;
        handshakes *= 1.2;
      } else if (hit?.phase === 'active') {
        const k = hit.attack.intensity;
        if (hit.attack.kind === 'VOLUMETRIC') {
          bytesIn *= 4 * k;
          flows *= 3 * k;
          ops *= 1 + k / 2;
          handshakes *= 1 + k;
        } else {
          handshakes *= 2 * k;
          ops *= 1 + k / 3;
          flows *= 1 + k;
        }
        if (r.chance(0.8)) indicators.push(hit.attack.kind);
        if (r.chance(0.2)) indicators.push('MALWARE_BEACON');
      } else if (r.chance(0.002)) {
        indicators.push(r.pick(['PORT_SCAN', 'TLS_DOWNGRADE']));
      }
      const packets = (bytesIn + bytesOut) / r.uniform(700, 1100);
      sink.add('telemetry.network', net.id, {
        timestamp: t,
        clientNetworkId: net.id,
        intervalMs: step,
        bytesIn: Math.round(bytesIn),
        bytesOut: Math.round(bytesOut),
        packets: Math.round(packets),
        flows: Math.round(flows),
        trafficType: hit?.phase === 'active' && hit.attack.kind === 'VOLUMETRIC' ? 'BULK' : traffic,
        cryptoOps: Math.round(ops),
        tlsHandshakes: Math.round(handshakes),
        threatIndicators: indicators,
      });
    }
  }
}
