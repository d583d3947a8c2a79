import * as fs from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors';
import type { PolicyAction, RiskLevel } from './events';

/**
 * Declarative rules over risk, workload and threat indicators. Parsing validates once; evaluating
 * is pure (facts and time in, actions out), so every rule is testable as given/when/then.
 *
 *   rules:
 *     - id: key-exfiltration
 *       when: { threatIndicators: { includesAny: [key-exfiltration, hsm-tamper] } }
 *       then: [quarantine, alert]
 *     - id: critical-risk
 *       when: { securityRisk: { gte: 0.85 } }
 *       then: [rotate-now, alert]
 *       cooldownMinutes: 60
 *
 * All conditions of a rule must hold. A rule that fired is silent for its cooldown.
 */
export interface PolicyFacts {
  securityRisk: number;
  riskLevel: RiskLevel;
  predictedPeakOpsPerSec: number;
  measuredOpsPerSec: number;
  /** measured / allocated capacity; measured > 0 with no capacity counts as overloaded (Infinity). */
  utilization: number;
  threatIndicators: string[];
}

type NumField = 'securityRisk' | 'predictedPeakOpsPerSec' | 'measuredOpsPerSec' | 'utilization';
const NUM_FIELDS: NumField[] = ['securityRisk', 'predictedPeakOpsPerSec', 'measuredOpsPerSec', 'utilization'];
const NUM_OPS = ['gt', 'gte', 'lt', 'lte', 'eq'] as const;
type NumOp = (typeof NUM_OPS)[number];

export type Condition =
  | { field: NumField; op: NumOp; value: number }
  | { field: 'threatIndicators'; op: 'includesAny' | 'includesAll' | 'includesNone'; value: string[] }
  | { field: 'riskLevel'; op: 'in'; value: RiskLevel[] };

export interface PolicyRule {
  id: string;
  description?: string;
  when: Condition[];
  then: PolicyAction[];
  cooldownMs: number;
}

export interface PolicyDecision {
  ruleId: string;
  action: PolicyAction;
  reason: string;
}

const ACTIONS: PolicyAction[] = ['rotate-now', 'tighten-policy', 'quarantine', 'lift-quarantine', 'alert'];
const LEVELS: RiskLevel[] = ['low', 'elevated', 'high', 'critical'];

function fail(source: string, at: string, msg: string): never {
  throw new ConfigError(`${source}: ${at} ${msg}`);
}

function parseConditions(source: string, at: string, when: unknown): Condition[] {
  if (!when || typeof when !== 'object' || Array.isArray(when)) fail(source, at, 'must be a mapping of field: { operator: value }');
  const out: Condition[] = [];
  for (const [field, spec] of Object.entries(when as Record<string, unknown>)) {
    const fat = `${at}.${field}`;
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) fail(source, fat, 'must be a mapping of operator: value');
    for (const [op, value] of Object.entries(spec as Record<string, unknown>)) {
      if ((NUM_FIELDS as string[]).includes(field)) {
        if (!(NUM_OPS as readonly string[]).includes(op)) fail(source, `${fat}.${op}`, `is not an operator for numbers (use ${NUM_OPS.join(', ')})`);
        if (typeof value !== 'number' || !Number.isFinite(value)) fail(source, `${fat}.${op}`, 'must be a number');
        out.push({ field: field as NumField, op: op as NumOp, value: value as number });
      } else if (field === 'threatIndicators') {
        if (op !== 'includesAny' && op !== 'includesAll' && op !== 'includesNone') {
          fail(source, `${fat}.${op}`, 'is not an operator for threatIndicators (use includesAny, includesAll, includesNone)');
        }
        if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) fail(source, `${fat}.${op}`, 'must be a non-empty list of indicator names');
        out.push({ field, op, value: value as string[] });
      } else if (field === 'riskLevel') {
        if (op !== 'in') fail(source, `${fat}.${op}`, 'is not an operator for riskLevel (use in)');
        if (!Array.isArray(value) || !value.every((v) => LEVELS.includes(v as RiskLevel))) fail(source, `${fat}.in`, `must list levels from ${LEVELS.join(', ')}`);
        out.push({ field, op, value: value as RiskLevel[] });
      } else {
        fail(source, fat, `is not a known fact (known: ${[...NUM_FIELDS, 'threatIndicators', 'riskLevel'].join(', ')})`);
      }
    }
  }
  if (out.length === 0) fail(source, at, 'needs at least one condition');
  return out;
}

export function parsePolicy(text: string, source: string): PolicyRule[] {
  let doc: unknown;
  try {
    doc = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML/JSON (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  const rules = (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) fail(source, 'rules', 'must be a list');
  const seen = new Set<string>();
  return rules.map((r, i): PolicyRule => {
    const at = `rules[${i}]`;
    if (!r || typeof r !== 'object') fail(source, at, 'must be a mapping');
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['id', 'description', 'when', 'then', 'cooldownMinutes'].includes(k)) fail(source, `${at}.${k}`, 'is not a rule setting (id, description, when, then, cooldownMinutes)');
    if (typeof o.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(o.id)) fail(source, `${at}.id`, 'must be lower-case letters, digits and dashes');
    if (seen.has(o.id)) fail(source, `${at}.id`, `"${o.id}" is used twice`);
    seen.add(o.id);
    const then = Array.isArray(o.then) ? o.then : [o.then];
    for (const a of then) if (!ACTIONS.includes(a as PolicyAction)) fail(source, `${at}.then`, `"${String(a)}" is not an action (use ${ACTIONS.join(', ')})`);
    const cd = o.cooldownMinutes ?? 0;
    if (typeof cd !== 'number' || cd < 0) fail(source, `${at}.cooldownMinutes`, 'must be a number >= 0');
    return {
      id: o.id,
      description: typeof o.description === 'string' ? o.description : undefined,
      when: parseConditions(source, `${at}.when`, o.when),
      then: then as PolicyAction[],
      cooldownMs: (cd as number) * 60_000,
    };
  });
}

export function loadPolicy(file: string): PolicyRule[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`policy file ${file} cannot be read; fix policyFile in the pool file`);
  }
  return parsePolicy(text, file);
}

function holds(c: Condition, f: PolicyFacts): string | null {
  switch (c.field) {
    case 'threatIndicators': {
      const hit = c.value.filter((v) => f.threatIndicators.includes(v));
      if (c.op === 'includesNone') return hit.length === 0 ? `none of ${c.value.join(', ')}` : null;
      const ok = c.op === 'includesAny' ? hit.length > 0 : hit.length === c.value.length;
      return ok ? `threat indicators ${hit.join(', ')}` : null;
    }
    case 'riskLevel':
      return c.value.includes(f.riskLevel) ? `risk level ${f.riskLevel}` : null;
    default: {
      const v = f[c.field];
      const ok =
        c.op === 'gt' ? v > c.value : c.op === 'gte' ? v >= c.value : c.op === 'lt' ? v < c.value : c.op === 'lte' ? v <= c.value : v === c.value;
      const sym = { gt: '>', gte: '>=', lt: '<', lte: '<=', eq: '=' }[c.op];
      return ok ? `${c.field} ${Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v} ${sym} ${c.value}` : null;
    }
  }
}

/**
 * Rules whose conditions all hold and whose cooldown has passed, each action once, in rule
 * order. `lastFiredAt` is per rule id (ISO), from the allocation's history.
 */
export function evaluatePolicy(
  rules: readonly PolicyRule[],
  facts: PolicyFacts,
  now: number,
  lastFiredAt: Readonly<Record<string, string>> = {},
): PolicyDecision[] {
  const out: PolicyDecision[] = [];
  for (const rule of rules) {
    const last = lastFiredAt[rule.id];
    if (last !== undefined && now - Date.parse(last) < rule.cooldownMs) continue;
    const reasons: string[] = [];
    let all = true;
    for (const c of rule.when) {
      const r = holds(c, facts);
      if (r === null) {
        all = false;
        break;
      }
      reasons.push(r);
    }
    if (!all) continue;
    for (const action of rule.then) out.push({ ruleId: rule.id, action, reason: reasons.join('; ') });
  }
  return out;
}

/** Facts from a forecast and the allocation's capacity. */
export function factsFrom(
  f: { securityRisk: number; predictedPeakOpsPerSec: number; measuredOpsPerSec: number; threatIndicators: string[] },
  capacity: number,
  riskLevel: RiskLevel,
): PolicyFacts {
  const utilization = capacity > 0 ? f.measuredOpsPerSec / capacity : f.measuredOpsPerSec > 0 ? Number.POSITIVE_INFINITY : 0;
  return { ...f, utilization, riskLevel };
}
