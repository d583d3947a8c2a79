import { ConfigError } from '../../core/errors';
import { parsePoolConfig } from '../../hsm/pool-config';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { testPool } from './hsm-fixtures';

const defaults = { module: '/lib/pkcs11.so', home: '/tmp/home' };
const parse = (yaml: string) => parsePoolConfig(yaml, 'pool.yaml', defaults);
const valid = `
tiers: [{ name: silver, partitionOpsPerSecond: 500 }, { name: gold, partitionOpsPerSecond: 2000 }]
hsms: [{ id: gold-1, tier: gold, partitionCapacity: 3 }]
`;

describe('pool configuration', () => {
  test('given a valid file, then tiers are ranked cheapest first and partitions are labelled per HSM', () => {
    const c = parse(valid);
    expect(c.tiers.map((t) => [t.name, t.rank])).toEqual([['silver', 0], ['gold', 1]]);
    expect(c.hsms[0]).toMatchObject({ id: 'gold-1', module: '/lib/pkcs11.so', partitionLabels: ['gold-1-p01', 'gold-1-p02', 'gold-1-p03'] });
    expect(c.planner).toEqual({ leadTimeMs: 30 * 60_000, headroom: 1.25, scaleInBelow: 0.5, minHoldMs: 60 * 60_000, releaseBelowOps: 1, reserveFraction: 0.2 });
    expect(c.secretsDir).toBe(path.resolve('/tmp/home/secrets'));
    expect(c.poolId).toBe('default');
  });

  test.each([
    ['an undeclared tier', valid.replace('tier: gold', 'tier: platinum'), /hsms\[0\]\.tier "platinum" is not a declared tier \(declared: silver, gold\)/],
    ['tiers not cheapest first', valid.replace('partitionOpsPerSecond: 2000', 'partitionOpsPerSecond: 100'), /tiers\[1\] must be listed cheapest first/],
    ['a capacity over 100', valid.replace('partitionCapacity: 3', 'partitionCapacity: 101'), /hsms\[0\]\.partitionCapacity must be a number from 1 to 100/],
    ['an unknown setting', valid + 'plannr: {}\n', /top level\.plannr is not a known setting/],
    ['an id too long for a token label', valid.replace('id: gold-1', 'id: a-very-long-hsm-identifier-xx'), /hsms\[0\]\.id .* 1-27/],
    ['duplicate HSM ids', valid.replace('hsms: [', 'hsms: [{ id: gold-1, tier: gold, partitionCapacity: 1 }, '), /two HSMs with id "gold-1"/],
    ['a negative lead time', valid + 'planner: { leadTimeMinutes: -5 }\n', /planner\.leadTimeMinutes must be a number from 0/],
    ['bad YAML', 'tiers: [', /pool\.yaml: not valid YAML/],
    ['the reserved id "pool"', valid.replace('id: gold-1', 'id: pool'), /hsms\[0\]\.id "pool" is reserved/],
  ])('given %s, then a ConfigError names the place and the fix', (_what, yaml, msg) => {
    expect(() => parse(yaml)).toThrow(ConfigError);
    expect(() => parse(yaml)).toThrow(msg);
  });

  test('the shipped example pool file is valid', () => {
    const file = path.join(__dirname, '..', '..', 'hsm', 'pool.example.yaml');
    const c = parsePoolConfig(fs.readFileSync(file, 'utf8'), file, defaults);
    expect(c.tiers.map((t) => t.name)).toEqual(['silver', 'gold']);
    expect(c.hsms.length).toBeGreaterThanOrEqual(2);
    expect(c.policyFile).toBe(path.join(path.dirname(file), 'policy.example.yaml'));
  });

  test('the test fixture pool parses', () => {
    expect(testPool().hsms.map((h) => h.id)).toEqual(['silver-1', 'silver-2', 'gold-1']);
  });
});
