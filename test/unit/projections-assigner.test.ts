import { planCoPartitioned } from '../../projections/assigner';

describe('co-partitioned assignment', () => {
  const topics = new Map([
    ['telemetry.vm-access', [5, 4, 3, 2, 1, 0]],
    ['telemetry.user-activity', [0, 1, 2, 3, 4, 5]],
    ['telemetry.network', [2, 0, 1]],
  ]);

  it.each([1, 2, 3, 4, 5, 7])('given %i members, then partition p of every topic lands on one member and every partition once', (n) => {
    const plan = planCoPartitioned(Array.from({ length: n }, (_, i) => `m${i}`), topics);
    const owner = new Map<string, string>();
    for (const [member, a] of plan) {
      for (const [topic, parts] of Object.entries(a)) {
        for (const p of parts) {
          expect(owner.has(`${topic}/${p}`)).toBe(false);
          owner.set(`${topic}/${p}`, member);
        }
      }
    }
    expect(owner.size).toBe(15);
    for (let p = 0; p < 6; p++) expect(owner.get(`telemetry.vm-access/${p}`)).toBe(owner.get(`telemetry.user-activity/${p}`));
  });

  it('given members in any order, then the plan is the same', () => {
    expect(planCoPartitioned(['b', 'a'], topics)).toEqual(planCoPartitioned(['a', 'b'], topics));
  });
});
