/**
 * Issue 10 item 4, secrets on the running stack: every PIN and password the stack holds is in a
 * 0600 file under FORESIGHT_HOME/secrets, and none of them is on any process's command line (ps
 * shows argv to every user) or in the stack's logs. Also: no CLI verb takes a PIN or password
 * as a flag.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../../core/config';

const cfg = loadConfig();
const secretsDir = path.join(cfg.home, 'secrets');
const logsDir = path.join(cfg.home, 'logs');
const ROOT = path.resolve(__dirname, '..', '..');

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(path.join(dir, d.name)) : [path.join(dir, d.name)]));
}

function knownSecrets(): Array<{ file: string; value: string }> {
  return filesUnder(secretsDir)
    .map((file) => ({ file, value: fs.readFileSync(file, 'utf8').trim() }))
    .filter((s) => s.value.length >= 6);
}

function commandLines(): Array<{ pid: string; argv: string }> {
  const out: Array<{ pid: string; argv: string }> = [];
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      out.push({ pid, argv: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

describe('security: secrets of the running stack', () => {
  const secrets = knownSecrets();

  test('the stack has secrets, each in an owner-only file in an owner-only directory', () => {
    expect(secrets.length).toBeGreaterThanOrEqual(2);
    expect(fs.statSync(secretsDir).mode & 0o077).toBe(0);
    const open = filesUnder(secretsDir).filter((f) => (fs.statSync(f).mode & 0o077) !== 0);
    expect(open).toEqual([]);
  });

  test('no PIN or password is on any process command line (Kafka, registry, event store, roles, tests)', () => {
    const lines = commandLines();
    expect(lines.some((l) => /kafka|esdb-local|apicurio|quarkus|java/i.test(l.argv))).toBe(true);
    const leaks = lines.flatMap((l) => secrets.filter((s) => l.argv.includes(s.value)).map((s) => `pid ${l.pid} has ${path.basename(s.file)} in argv: ${l.argv.slice(0, 120)}`));
    expect(leaks).toEqual([]);
    // Nothing passes a secret by a flag named for one, even one we do not know the value of.
    const flagged = lines.filter((l) => /--(pin|so-pin|password|passwd|secret)[= ]\S/i.test(l.argv) || /(storepass|keypass|passout|passin) (pass:)?[^f\s]/i.test(l.argv));
    expect(flagged.map((l) => `pid ${l.pid}: ${l.argv.slice(0, 160)}`)).toEqual([]);
  });

  test('no PIN, password or private key is in the stack logs', () => {
    const logs = filesUnder(logsDir).filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    const leaks: string[] = [];
    for (const f of logs) {
      const text = fs.readFileSync(f, 'utf8');
      for (const s of secrets) if (text.includes(s.value)) leaks.push(`${path.basename(f)} holds ${path.basename(s.file)}`);
      if (/BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY/.test(text)) leaks.push(`${path.basename(f)} holds a private key`);
    }
    expect(leaks).toEqual([]);
  });

  test('no CLI verb offers a flag that would put a PIN or password in argv', () => {
    const dir = path.join(ROOT, 'cli', 'commands');
    const offenders = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /['"`]--?(pin|so-pin|password|passwd|secret|private-key)['"`=\s]/i.test(fs.readFileSync(path.join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
