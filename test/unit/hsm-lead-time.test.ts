import { LeadTimeScheduler } from '../../hsm/lead-time';
import type { WorkloadRisk } from '../../schemas/types';

const rec = (net: string, id: string): WorkloadRisk => ({
  eventId: id,
  timestamp: 0,
  clientNetworkId: net,
  horizon: 'PT6H',
  predictedCryptoOps: 0,
  predictedPeakOpsPerSec: 300,
  predictedPeakTime: 100,
  measuredOpsPerSec: 0,
  securityRisk: 0,
  threatIndicators: [],
  modelVersion: 'm',
});

test('a waiting forecast comes back once, at the start of its lead time, under a new event id', () => {
  const s = new LeadTimeScheduler();
  s.offer(rec('a', 'e1'), { kind: 'wait', until: 70, reason: '' });
  expect(s.due(69)).toEqual([]);
  expect(s.due(75)).toEqual([expect.objectContaining({ clientNetworkId: 'a', eventId: 'e1:lead-time', timestamp: 70 })]);
  expect(s.due(80)).toEqual([]);
});

test('a newer forecast replaces or cancels the waiting one', () => {
  const s = new LeadTimeScheduler();
  s.offer(rec('a', 'e1'), { kind: 'wait', until: 70, reason: '' });
  s.offer(rec('a', 'e2'), { kind: 'wait', until: 90, reason: '' });
  expect(s.due(80)).toEqual([]);
  expect(s.due(90).map((r) => r.eventId)).toEqual(['e2:lead-time']);
  s.offer(rec('b', 'e3'), { kind: 'wait', until: 50, reason: '' });
  s.offer(rec('b', 'e4'), { kind: 'hold', reason: 'capacity matches' });
  expect(s.size).toBe(0);
});
