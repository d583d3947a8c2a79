import * as fs from 'node:fs';
import { ConfigError } from '../core/errors';

/**
 * Where a PIN comes from: a file (mode 0600, one line) or an environment variable. Never argv:
 * every user on the machine can read a process's arguments.
 */
export type SecretSource = { file: string } | { env: string };

export function describeSecret(src: SecretSource): string {
  return 'file' in src ? `file ${src.file}` : `environment variable ${src.env}`;
}

/** Reads a PIN; the error names where it looked, never the value. */
export function readSecret(src: SecretSource, env: NodeJS.ProcessEnv = process.env): string {
  let raw: string | undefined;
  if ('file' in src) {
    try {
      raw = fs.readFileSync(src.file, 'utf8');
    } catch {
      throw new ConfigError(`cannot read the PIN ${describeSecret(src)}; create it (foresight stack up does locally) or fix the path in the pool file`);
    }
    // A group- or world-readable PIN file is a leaked PIN: refuse it, as ssh does for keys.
    if (process.platform !== 'win32' && (fs.statSync(src.file).mode & 0o077) !== 0) {
      throw new ConfigError(`PIN ${describeSecret(src)} is readable by other users; chmod 600 it`);
    }
  } else {
    raw = env[src.env];
    if (raw === undefined) throw new ConfigError(`PIN ${describeSecret(src)} is not set; export it or use a PIN file`);
  }
  const pin = raw.replace(/\r?\n$/, '');
  if (pin.length < 4) throw new ConfigError(`PIN in ${describeSecret(src)} is shorter than 4 characters`);
  return pin;
}

/** Writes a PIN file readable only by its owner (created fresh; an existing one is replaced). */
export function writeSecretFile(file: string, value: string): void {
  fs.writeFileSync(file, value + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}
