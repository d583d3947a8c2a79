import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot, type Config } from '../core/config';
import { APICURIO_VERSION, layout, mkdirp } from './layout';
import { StackError } from './process';

/**
 * Tools the local stack runs on, and the downloads it resolves into the cache. Every failure is
 * one line naming what is missing and how to get it.
 */

export interface Say {
  (line: string): void;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function onPath(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** Major version of a java binary (8, 11, 17, 21, 25…), or undefined if it does not run. */
export function javaMajor(javaBin: string): number | undefined {
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8' });
  return parseJavaMajor(`${r.stderr ?? ''}${r.stdout ?? ''}`);
}

/** Pure: the major version in `java -version` output ("1.8.0_392" is 8, "25.0.3" is 25). */
export function parseJavaMajor(text: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major === 1 ? Number(m[2]) : major;
}

/** Java binaries on this machine: JAVA_HOME, PATH, then every JDK under /usr/lib/jvm. */
function javaCandidates(): string[] {
  const out: string[] = [];
  if (process.env.JAVA_HOME) out.push(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  const p = onPath('java');
  if (p) out.push(p);
  try {
    for (const d of fs.readdirSync('/usr/lib/jvm').sort().reverse()) out.push(path.join('/usr/lib/jvm', d, 'bin', 'java'));
  } catch {
    /* no /usr/lib/jvm */
  }
  return [...new Set(out)].filter((j) => fs.existsSync(j));
}

/**
 * A java of at least `min`. Kafka 3.9 runs on 17+; Apicurio 3.3 is compiled for Java 21
 * (class file 65), so the registry needs a newer JDK than Debian 12's default.
 */
export function findJava(min: number, envVar: string): string {
  const forced = process.env[envVar];
  if (forced) {
    const bin = fs.existsSync(path.join(forced, 'bin', 'java')) ? path.join(forced, 'bin', 'java') : forced;
    const v = javaMajor(bin);
    if (v === undefined || v < min) throw new StackError(`${envVar}=${forced} is not a Java ${min}+ (found ${v ?? 'none'}); point it at a JDK ${min} or newer`);
    return bin;
  }
  for (const j of javaCandidates()) {
    const v = javaMajor(j);
    if (v !== undefined && v >= min) return j;
  }
  throw new StackError(
    `no Java ${min}+ found (JAVA_HOME, PATH, /usr/lib/jvm); install a JDK ${min} or newer (e.g. apt-get install openjdk-${min === 17 ? 17 : 21}-jre-headless, or Temurin) or set ${envVar} to its home`,
  );
}

interface SystemNeed {
  what: string;
  present: () => boolean;
  debPackage: string;
}

function systemNeeds(cfg: Config): SystemNeed[] {
  const needs: SystemNeed[] = [
    { what: 'openssl', present: () => Boolean(onPath('openssl')), debPackage: 'openssl' },
    { what: 'mvn (Maven)', present: () => Boolean(onPath('mvn')), debPackage: 'maven' },
  ];
  if (!cfg.kafka.external || !cfg.schemaRegistry.external) {
    needs.push({ what: 'java 17+', present: () => javaCandidates().some((j) => (javaMajor(j) ?? 0) >= 17), debPackage: 'openjdk-17-jre-headless' });
  }
  if (!cfg.hsm.external) {
    needs.push({ what: 'SoftHSM2', present: () => fs.existsSync(cfg.hsm.module), debPackage: 'softhsm2' });
  }
  return needs;
}

/** Installs missing Debian packages when we are root; otherwise says which to install. */
export function ensureSystemPackages(cfg: Config, say: Say): void {
  const missing = systemNeeds(cfg).filter((n) => !n.present());
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((m) => m.debPackage))];
  const what = missing.map((m) => m.what).join(', ');
  if (!isRoot() || !onPath('apt-get')) {
    throw new StackError(`missing ${what}; install them (Debian/Ubuntu: sudo apt-get install -y ${pkgs.join(' ')}) and run again`);
  }
  say(`installing ${pkgs.join(' ')} with apt-get (missing: ${what})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env, encoding: 'utf8' });
  const upd = run(['update', '-qq']);
  const inst = upd.status === 0 ? run(['install', '-y', '-qq', '--no-install-recommends', ...pkgs]) : upd;
  if (inst.status !== 0) {
    throw new StackError(`apt-get could not install ${pkgs.join(' ')} (${inst.stderr.trim().split('\n').pop()}); install them by hand and run again`);
  }
  const still = systemNeeds(cfg).filter((n) => !n.present());
  if (still.length) throw new StackError(`still missing ${still.map((m) => m.what).join(', ')} after apt-get; install by hand and run again`);
}

/**
 * Apicurio 3.3 needs Java 21+. Debian 12 has no such package, newer releases do; try it as
 * root, and otherwise leave the one-line advice to findJava.
 */
export function ensureRegistryJava(say: Say): void {
  if (javaCandidates().some((j) => (javaMajor(j) ?? 0) >= 21)) return;
  if (!isRoot() || !onPath('apt-get')) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const pkg of ['openjdk-21-jre-headless', 'openjdk-25-jre-headless']) {
    const has = spawnSync('apt-cache', ['show', pkg], { stdio: 'ignore', env });
    if (has.status !== 0) continue;
    say(`installing ${pkg} with apt-get (the schema registry needs Java 21+)`);
    if (spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { stdio: 'ignore', env }).status === 0) return;
  }
}

function mvn(args: string[], what: string, logFile: string): void {
  mkdirp(path.dirname(logFile));
  const r = spawnSync('mvn', ['-B', '-q', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  fs.writeFileSync(logFile, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0) {
    const last = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /ERROR/.test(l))[0] ?? '';
    throw new StackError(`downloading ${what} from Maven Central failed (${last.replace(/\s+/g, ' ').slice(0, 200)}); check network access to Maven Central, see ${logFile}, then run again`);
  }
}

const MVN_DEP = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/** Kafka's jars into the cache; a marker written after success makes a half download redo. */
export function ensureKafkaJars(cfg: Config, say: Say): string {
  const l = layout(cfg);
  if (fs.existsSync(l.kafkaLibsMarker) && fs.existsSync(l.kafkaLibs)) return l.kafkaLibs;
  say(`resolving Kafka jars into ${l.kafkaLibs} (about 46 MB, once per machine)`);
  fs.rmSync(l.kafkaLibs, { recursive: true, force: true });
  mkdirp(l.kafkaLibs);
  const pom = path.join(projectRoot(), 'stack', 'kafka', 'pom.xml');
  mvn(['-f', pom, `${MVN_DEP}:copy-dependencies`, `-DoutputDirectory=${l.kafkaLibs}`, '-DincludeScope=runtime'], 'Kafka jars', path.join(l.logs, 'mvn-kafka.log'));
  if (!fs.readdirSync(l.kafkaLibs).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new StackError(`Kafka jars did not arrive in ${l.kafkaLibs}; see ${path.join(l.logs, 'mvn-kafka.log')}`);
  }
  fs.writeFileSync(l.kafkaLibsMarker, new Date().toISOString());
  return l.kafkaLibs;
}

/** Apicurio Registry's distribution (tar.gz from Maven Central), unpacked into the cache. */
export function ensureApicurio(cfg: Config, say: Say): string {
  const l = layout(cfg);
  const jar = path.join(l.apicurioDir, 'quarkus-run.jar');
  if (fs.existsSync(l.apicurioMarker) && fs.existsSync(jar)) return jar;
  const archive = path.join(l.apicurioArchiveDir, `apicurio-registry-app-${APICURIO_VERSION}-all.tar.gz`);
  if (!fs.existsSync(archive)) {
    say(`downloading Apicurio Registry ${APICURIO_VERSION} into ${l.apicurioArchiveDir} (about 160 MB, once per machine)`);
    mkdirp(l.apicurioArchiveDir);
    mvn(
      [`${MVN_DEP}:copy`, `-Dartifact=io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, `-DoutputDirectory=${l.apicurioArchiveDir}`],
      'Apicurio Registry',
      path.join(l.logs, 'mvn-apicurio.log'),
    );
  }
  say(`unpacking Apicurio Registry into ${l.apicurioDir}`);
  fs.rmSync(l.apicurioDir, { recursive: true, force: true });
  mkdirp(l.apicurioDir);
  try {
    execFileSync('tar', ['xzf', archive, '-C', l.apicurioDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    // A truncated archive: drop it so the next run downloads it again.
    fs.rmSync(archive, { force: true });
    throw new StackError(`could not unpack ${archive} (${(e as Error).message.split('\n')[0]}); it was removed, run again to download it anew`);
  }
  if (!fs.existsSync(jar)) throw new StackError(`${jar} missing after unpacking Apicurio; remove ${l.apicurioDir} and run again`);
  fs.writeFileSync(l.apicurioMarker, new Date().toISOString());
  return jar;
}

/** Everything `stack up` needs before it starts anything; idempotent and fast when cached. */
export function ensureDeps(cfg: Config, say: Say): void {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 20) throw new StackError(`Node ${process.versions.node} is too old; install Node 20 or newer`);
  ensureSystemPackages(cfg, say);
  if (!cfg.kafka.external) {
    findJava(17, 'FORESIGHT_KAFKA_JAVA_HOME');
    ensureKafkaJars(cfg, say);
  }
  if (!cfg.schemaRegistry.external) {
    ensureRegistryJava(say);
    findJava(21, 'FORESIGHT_REGISTRY_JAVA_HOME');
    ensureApicurio(cfg, say);
  }
}
