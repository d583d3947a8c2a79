import * as fs from 'node:fs';
import * as YAML from 'yaml';
import { ConfigError } from '../core/errors';
import { HORIZONS } from '../models/access/dataset';
import type { AccessRisk } from '../schemas';
import type { PreProvisionPolicy } from './credential-decider';
import type { AlertRule } from './failure-window';
import { DEFAULT_PASSWORD_POLICY, validatePasswordPolicy, type PasswordPolicy } from './password';

/**
 * Credential policies: which risk threshold, validity window and caps apply to a VM. A policy
 * matches VMs by id prefix; the longest matching prefix wins, the default covers the rest.
 *
 *   # $FORESIGHT_HOME/credentials.yaml (or FORESIGHT_CREDENTIALS_POLICY=<file>)
 *   default: { threshold: 0.6, validity: PT1H, maxOutstandingPerUser: 5, maxOutstandingTotal: 10000 }
 *   policies:
 *     - { name: prod, vmPrefix: "prod-", threshold: 0.8, validity: PT15M }
 *     - { name: dev, vmPrefix: "dev-", horizon: PT4H, threshold: 0.4 }   # validity PT4H
 *   password: { length: 24, lower: 2, upper: 2, digit: 2, symbol: 2 }
 *   alerts: { threshold: 3, window: PT10M }
 *
 * `horizon` picks which of the model's horizon scores the threshold applies to (one of
 * HORIZONS: PT1H, PT2H, PT4H, PT8H, PT16H, P1D). The primary score (PT1H) only says "within the
 * hour", and a window's score lands minutes after it ends, so a user's first access of a session
 * is usually asked before any PT1H score is high; a PT4H score can be high hours ahead of it.
 * Without `validity`, a policy with a horizon is valid for that horizon: the credential then
 * lasts as long as the prediction it was made on. Without `horizon`, the primary `riskScore`
 * decides, as it always has. A named policy inherits the default's horizon.
 */
export interface CredentialPolicy extends PreProvisionPolicy {
  /** The horizonScores key the threshold applies to; absent: the record's primary riskScore. */
  horizon?: string;
}

export interface NamedPolicy extends CredentialPolicy {
  vmPrefix: string;
}

export interface CredentialsConfig {
  default: CredentialPolicy;
  policies: NamedPolicy[];
  password: PasswordPolicy;
  alerts: AlertRule;
  /** Validity of credentials issued on demand or refreshed (no risk score behind them). */
  onDemandValidityMs: number;
}

export const DEFAULT_CREDENTIALS_CONFIG: CredentialsConfig = {
  default: { name: 'default', threshold: 0.6, validityMs: 3_600_000, maxOutstandingPerUser: 5, maxOutstandingTotal: 10_000 },
  policies: [],
  password: DEFAULT_PASSWORD_POLICY,
  alerts: { threshold: 3, windowMs: 600_000 },
  onDemandValidityMs: 3_600_000,
};

export function policyFor(cfg: CredentialsConfig, vmId: string): CredentialPolicy {
  let best: NamedPolicy | undefined;
  for (const p of cfg.policies) if (vmId.startsWith(p.vmPrefix) && (!best || p.vmPrefix.length > best.vmPrefix.length)) best = p;
  return best ?? cfg.default;
}

/**
 * The score a policy acts on. A record without a score for the policy's horizon (a model trained
 * with other horizons, a record from before horizonScores) has nothing to say about it unless
 * that horizon is its primary one: undefined, so the caller provisions nothing rather than act
 * on a different horizon's probability.
 */
export function scoreFor(risk: Pick<AccessRisk, 'riskScore' | 'horizon' | 'horizonScores'>, policy: CredentialPolicy): number | undefined {
  if (policy.horizon === undefined) return risk.riskScore;
  const s = risk.horizonScores?.[policy.horizon];
  if (s !== undefined) return s;
  return risk.horizon === policy.horizon ? risk.riskScore : undefined;
}

/** ISO-8601 durations of days/hours/minutes/seconds (PT15M, P1D, PT1H30M) or plain milliseconds. */
export function parseDurationMs(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(v) : null;
  if (!m || v === 'P' || v === 'PT') throw new ConfigError(`${what}: "${String(v)}" is not a duration; use ISO-8601 like PT15M or P1D`);
  const ms = ((+(m[1] ?? 0) * 24 + +(m[2] ?? 0)) * 60 + +(m[3] ?? 0)) * 60_000 + Math.round(+(m[4] ?? 0) * 1000);
  if (ms <= 0) throw new ConfigError(`${what}: duration must be positive`);
  return ms;
}

function num(v: unknown, what: string, min: number, max: number, integer: boolean): number {
  if (typeof v !== 'number' || !(v >= min && v <= max) || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`${what}: ${JSON.stringify(v)} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`);
  }
  return v;
}

function horizonOf(v: unknown, where: string): string {
  if (typeof v !== 'string' || !HORIZONS.includes(v)) {
    throw new ConfigError(`${where}.horizon: ${JSON.stringify(v)} is not a horizon the access model scores; use one of ${HORIZONS.join(', ')}`);
  }
  return v;
}

function policy(raw: Record<string, unknown>, base: CredentialPolicy, where: string): CredentialPolicy {
  const horizon = raw.horizon === undefined ? base.horizon : horizonOf(raw.horizon, where);
  const validityMs =
    raw.validity !== undefined
      ? parseDurationMs(raw.validity, `${where}.validity`)
      : raw.horizon !== undefined
        ? parseDurationMs(horizon, `${where}.horizon`)
        : base.validityMs;
  return {
    name: typeof raw.name === 'string' ? raw.name : base.name,
    threshold: raw.threshold === undefined ? base.threshold : num(raw.threshold, `${where}.threshold`, 0, 1, false),
    validityMs,
    maxOutstandingPerUser:
      raw.maxOutstandingPerUser === undefined ? base.maxOutstandingPerUser : num(raw.maxOutstandingPerUser, `${where}.maxOutstandingPerUser`, 0, 1e6, true),
    maxOutstandingTotal:
      raw.maxOutstandingTotal === undefined ? base.maxOutstandingTotal : num(raw.maxOutstandingTotal, `${where}.maxOutstandingTotal`, 0, 1e9, true),
    ...(horizon === undefined ? {} : { horizon }),
  };
}

const obj = (v: unknown, what: string): Record<string, unknown> => {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${what} must be a mapping`);
  return v as Record<string, unknown>;
};

/** Parses and validates the policy document once, at start-up. */
export function parseCredentialsConfig(doc: unknown, source = 'credentials policy'): CredentialsConfig {
  const d = obj(doc, source);
  const dflt = policy(obj(d.default, `${source}: default`), DEFAULT_CREDENTIALS_CONFIG.default, `${source}: default`);
  const list = d.policies === undefined ? [] : d.policies;
  if (!Array.isArray(list)) throw new ConfigError(`${source}: policies must be a list`);
  const policies = list.map((p, i) => {
    const raw = obj(p, `${source}: policies[${i}]`);
    if (typeof raw.name !== 'string' || typeof raw.vmPrefix !== 'string') {
      throw new ConfigError(`${source}: policies[${i}] needs a name and a vmPrefix`);
    }
    return { ...policy(raw, dflt, `${source}: policies[${i}]`), vmPrefix: raw.vmPrefix };
  });
  const pw = { ...DEFAULT_PASSWORD_POLICY, ...obj(d.password, `${source}: password`) } as PasswordPolicy;
  const alerts = obj(d.alerts, `${source}: alerts`);
  return {
    default: dflt,
    policies,
    password: validatePasswordPolicy(pw),
    alerts: {
      threshold: alerts.threshold === undefined ? DEFAULT_CREDENTIALS_CONFIG.alerts.threshold : num(alerts.threshold, `${source}: alerts.threshold`, 1, 1e6, true),
      windowMs: alerts.window === undefined ? DEFAULT_CREDENTIALS_CONFIG.alerts.windowMs : parseDurationMs(alerts.window, `${source}: alerts.window`),
    },
    onDemandValidityMs:
      d.onDemandValidity === undefined ? DEFAULT_CREDENTIALS_CONFIG.onDemandValidityMs : parseDurationMs(d.onDemandValidity, `${source}: onDemandValidity`),
  };
}

/** FORESIGHT_CREDENTIALS_POLICY names the file; else $FORESIGHT_HOME/credentials.yaml if present; else defaults. */
export function loadCredentialsConfig(home: string, env: NodeJS.ProcessEnv = process.env): CredentialsConfig {
  const explicit = env.FORESIGHT_CREDENTIALS_POLICY?.trim();
  const file = explicit || `${home}/credentials.yaml`;
  if (!fs.existsSync(file)) {
    if (explicit) throw new ConfigError(`FORESIGHT_CREDENTIALS_POLICY=${explicit}: no such file; point it at a YAML policy file or unset it`);
    return DEFAULT_CREDENTIALS_CONFIG;
  }
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); fix the file`);
  }
  return parseCredentialsConfig(doc, file);
}
