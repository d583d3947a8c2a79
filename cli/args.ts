import { ForesightError } from '../core/errors';

/** A bad command line: printed as one line with the fix, exit code 2. */
export class UsageError extends ForesightError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

export interface ParsedArgs {
  positional: string[];
  flags: Map<string, string | true>;
}

export interface FlagSpec {
  /** Flags that take a value (`--name value` or `--name=value`). */
  values?: string[];
  /** Flags that are switches. */
  switches?: string[];
}

/** Strict parser: unknown flags and missing values are errors that name the fix. */
export function parseArgs(argv: string[], spec: FlagSpec, usage: string): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const switches = new Set([...(spec.switches ?? []), 'help']);
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h') {
      flags.set('help', true);
      continue;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
    if (switches.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value; usage: ${usage}`);
      flags.set(name, true);
    } else if (values.has(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new UsageError(`--${name} needs a value; usage: ${usage}`);
      flags.set(name, v);
    } else {
      throw new UsageError(`unknown option --${name}; usage: ${usage}`);
    }
  }
  return { positional, flags };
}

export function str(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function requireStr(p: ParsedArgs, name: string, usage: string): string {
  const v = str(p, name);
  if (v === undefined) throw new UsageError(`--${name} is required; usage: ${usage}`);
  return v;
}

export function int(p: ParsedArgs, name: string, usage: string, dflt?: number, min = 0): number {
  const v = str(p, name);
  if (v === undefined) {
    if (dflt === undefined) throw new UsageError(`--${name} is required; usage: ${usage}`);
    return dflt;
  }
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number >= ${min}, got "${v}"`);
  return n;
}

export function has(p: ParsedArgs, name: string): boolean {
  return p.flags.get(name) === true;
}
