/**
 * The demo's credential policy acts on the PT8H score, valid 8 h. Access windows are hourly and a
 * score lands about 15 simulated minutes after its window, so the PT1H score almost never comes
 * before a session's first request; a PT8H score from the morning's first windows covers the
 * rest of the working day. Measured (README, Demo) against PT4H (fewer hits, more waste) and
 * PT16H/P1D (more hits, but at 0.3 the threshold no longer filters: nearly every pair active
 * that day gets a credential).
 */
export const DEMO_POLICY = { horizon: 'PT8H', validity: 'PT8H' } as const;

export function demoPolicyYaml(threshold: number): string {
  return `# written by 'foresight demo'\ndefault:\n  horizon: ${DEMO_POLICY.horizon}\n  threshold: ${threshold}\n  validity: ${DEMO_POLICY.validity}\n  maxOutstandingPerUser: 5\n  maxOutstandingTotal: 10000\n`;
}
