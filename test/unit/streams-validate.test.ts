import type { AccessRisk, VmAccess } from '../../schemas';
import { validateRecord } from '../../streams';

const now = Date.UTC(2026, 10, 21, 12);
const access: VmAccess = { eventId: 'e1', timestamp: now - 1000, userId: 'u1', vmId: 'vm1', action: 'CONNECT', success: true, source: 's' };

describe('semantic validation', () => {
  it('accepts a plausible record', () => {
    expect(validateRecord('telemetry.vm-access', access, now)).toEqual([]);
  });

  it('refuses missing ids', () => {
    expect(validateRecord('telemetry.vm-access', { ...access, userId: ' ', eventId: '' }, now)).toEqual(['eventId is empty', 'userId is empty']);
  });

  it('refuses timestamps before 2000 or more than a day ahead of now', () => {
    expect(validateRecord('telemetry.vm-access', { ...access, timestamp: Date.UTC(1999, 11, 31) }, now)[0]).toMatch(/timestamp .* implausible/);
    expect(validateRecord('telemetry.vm-access', { ...access, timestamp: now + 25 * 3600_000 }, now)[0]).toMatch(/implausible/);
    expect(validateRecord('telemetry.vm-access', { ...access, timestamp: now + 23 * 3600_000 }, now)).toEqual([]);
  });

  it('refuses probabilities outside 0..1', () => {
    const risk: AccessRisk = { eventId: 'r', timestamp: now, userId: 'u', vmId: 'v', riskScore: 1.2, horizon: 'PT1H', horizonScores: { P1D: -0.1 }, predictedAccessTime: null, modelVersion: 'm1' };
    expect(validateRecord('risk.access', risk, now)).toEqual(['riskScore 1.2 is not a probability in 0..1', 'horizonScores.P1D -0.1 is not a probability in 0..1']);
  });

  it('refuses negative counts in network telemetry', () => {
    const net = { eventId: 'n', timestamp: now, clientNetworkId: 'c', intervalMs: 60000, bytesIn: -1, bytesOut: 0, packets: 0, flows: 0, trafficType: 'WEB' as const, cryptoOps: 0, tlsHandshakes: 0, threatIndicators: [] };
    expect(validateRecord('telemetry.network', net, now)).toEqual(['bytesIn -1 is negative or not finite']);
  });
});
