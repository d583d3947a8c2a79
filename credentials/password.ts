import { ConfigError } from '../core/errors';

/**
 * Password policy and generator. The generator is pure over a byte source: the edge passes
 * node:crypto's CSPRNG (cryptoBytes below), tests pass a fixed stream.
 */
export interface PasswordPolicy {
  length: number;
  /** Minimum characters from each class (0 = allowed but not required; absent = not used). */
  lower?: number;
  upper?: number;
  digit?: number;
  symbol?: number;
  symbols?: string;
  /** Leave out look-alikes (0/O, 1/l/I) so a password read aloud survives. */
  excludeAmbiguous?: boolean;
}

export type ByteSource = (n: number) => Buffer;

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  length: 24,
  lower: 2,
  upper: 2,
  digit: 2,
  symbol: 2,
  symbols: '!#$%&*+-=?@^_~',
  excludeAmbiguous: true,
};

const AMBIGUOUS = new Set('0O1lI|');
const CLASSES = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digit: '0123456789',
} as const;

type ClassName = 'lower' | 'upper' | 'digit' | 'symbol';

function alphabets(p: PasswordPolicy): Array<{ name: ClassName; chars: string; min: number }> {
  const clean = (s: string) => [...new Set(s)].filter((c) => !(p.excludeAmbiguous && AMBIGUOUS.has(c))).join('');
  const out: Array<{ name: ClassName; chars: string; min: number }> = [];
  for (const name of ['lower', 'upper', 'digit'] as const) {
    if (p[name] !== undefined) out.push({ name, chars: clean(CLASSES[name]), min: p[name]! });
  }
  if (p.symbol !== undefined) out.push({ name: 'symbol', chars: clean(p.symbols ?? DEFAULT_PASSWORD_POLICY.symbols!), min: p.symbol });
  return out;
}

/** log2 of the number of passwords the policy allows, roughly (ignores the per-class minimums). */
export function entropyBits(p: PasswordPolicy): number {
  const size = alphabets(p).reduce((n, a) => n + a.chars.length, 0);
  return size > 1 ? p.length * Math.log2(size) : 0;
}

/** Checked once at start-up; a weak or impossible policy is a configuration error. */
export function validatePasswordPolicy(p: PasswordPolicy, minBits = 80): PasswordPolicy {
  if (!Number.isInteger(p.length) || p.length < 12 || p.length > 256) {
    throw new ConfigError(`password policy: length ${p.length} must be a whole number from 12 to 256`);
  }
  const a = alphabets(p);
  if (a.length === 0) throw new ConfigError('password policy: enable at least one character class (lower, upper, digit, symbol)');
  for (const c of a) {
    if (!Number.isInteger(c.min) || c.min < 0) throw new ConfigError(`password policy: ${c.name} minimum must be a whole number >= 0`);
    if (c.chars.length === 0) throw new ConfigError(`password policy: the ${c.name} class has no characters left`);
  }
  const required = a.reduce((n, c) => n + c.min, 0);
  if (required > p.length) throw new ConfigError(`password policy: class minimums (${required}) exceed the length (${p.length})`);
  const bits = entropyBits(p);
  if (bits < minBits) throw new ConfigError(`password policy: ~${Math.floor(bits)} bits of entropy; raise the length or add classes to reach ${minBits}`);
  return p;
}

/** Uniform integer in [0, n) by rejection sampling: no modulo bias. */
export function uniformInt(n: number, bytes: ByteSource): number {
  if (!Number.isInteger(n) || n < 1 || n > 65536) throw new RangeError(`uniformInt: n=${n} out of range`);
  if (n === 1) return 0;
  const limit = 65536 - (65536 % n);
  for (;;) {
    const b = bytes(2);
    const v = b.readUInt16BE(0);
    if (v < limit) return v % n;
  }
}

/** A password satisfying the policy: class minimums first, the rest from all classes, then shuffled. */
export function generatePassword(p: PasswordPolicy, bytes: ByteSource): string {
  const a = alphabets(p);
  const all = a.map((c) => c.chars).join('');
  const chars: string[] = [];
  for (const c of a) for (let i = 0; i < c.min; i++) chars.push(c.chars[uniformInt(c.chars.length, bytes)]);
  while (chars.length < p.length) chars.push(all[uniformInt(all.length, bytes)]);
  // Fisher-Yates, so the required characters are not always at the front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = uniformInt(i + 1, bytes);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}

/** Whether a password meets the policy (what a verifier or a test checks). */
export function meetsPolicy(pw: string, p: PasswordPolicy): boolean {
  if (pw.length !== p.length) return false;
  const a = alphabets(p);
  const allowed = new Set(a.flatMap((c) => [...c.chars]));
  if (![...pw].every((ch) => allowed.has(ch))) return false;
  return a.every((c) => [...pw].filter((ch) => c.chars.includes(ch)).length >= c.min);
}
