import { MetricsRegistry } from '../../core/metrics';

describe('metrics registry', () => {
  it('renders counters, gauges and histograms in Prometheus text format', () => {
    const r = new MetricsRegistry();
    r.counter('foresight_records_total', 'records').inc({ topic: 'a"b' }, 2);
    r.gauge('foresight_lag', 'lag').set(5);
    const h = r.histogram('foresight_latency_seconds', 'latency', [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    const text = r.render();
    expect(text).toContain('# TYPE foresight_records_total counter');
    expect(text).toContain('foresight_records_total{topic="a\\"b"} 2');
    expect(text).toContain('foresight_lag 5');
    expect(text).toContain('foresight_latency_seconds_bucket{le="0.1"} 1');
    expect(text).toContain('foresight_latency_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain('foresight_latency_seconds_count 2');
  });

  it('returns the same series when a role registers a name twice, and refuses a type clash', () => {
    const r = new MetricsRegistry();
    expect(r.counter('x_total', 'x')).toBe(r.counter('x_total', 'x'));
    expect(() => r.gauge('x_total', 'x')).toThrow(/already registered/);
  });

  it('computes quantiles over recent samples', () => {
    const h = new MetricsRegistry().histogram('l', 'l');
    for (let i = 1; i <= 100; i++) h.observe(i);
    expect(h.quantile(0.5)).toBe(50);
    expect(h.quantile(0.99)).toBe(99);
  });
});
