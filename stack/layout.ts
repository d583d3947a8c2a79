import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../core/config';

/** Versions of what the local stack downloads; the cache folder names carry them. */
export const KAFKA_VERSION = '3.9.1';
export const APICURIO_VERSION = '3.3.3';

/**
 * Where everything of the local stack lives. Data and secrets are per checkout (FORESIGHT_HOME);
 * downloads are per machine (cacheDir) so a second checkout does not fetch 200 MB again.
 */
export interface Layout {
  home: string;
  logs: string;
  run: string;
  data: string;
  kafkaData: string;
  kafkaConfigDir: string;
  registryData: string;
  eventStoreData: string;
  tls: string;
  secrets: string;
  softhsm: string;
  softhsmTokens: string;
  softhsmConf: string;
  hsmManifest: string;
  kafkaLibs: string;
  kafkaLibsMarker: string;
  apicurioArchiveDir: string;
  apicurioDir: string;
  apicurioMarker: string;
}

export function layout(cfg: Pick<Config, 'home' | 'cacheDir'>): Layout {
  const h = cfg.home;
  const c = cfg.cacheDir;
  const data = path.join(h, 'data');
  return {
    home: h,
    logs: path.join(h, 'logs'),
    run: path.join(h, 'run'),
    data,
    kafkaData: path.join(data, 'kafka'),
    kafkaConfigDir: path.join(h, 'kafka'),
    registryData: path.join(data, 'registry'),
    eventStoreData: path.join(data, 'eventstore'),
    tls: path.join(h, 'tls'),
    secrets: path.join(h, 'secrets'),
    softhsm: path.join(h, 'softhsm'),
    softhsmTokens: path.join(h, 'softhsm', 'tokens'),
    softhsmConf: path.join(h, 'softhsm', 'softhsm2.conf'),
    hsmManifest: path.join(h, 'hsm-tokens.json'),
    kafkaLibs: path.join(c, `kafka-${KAFKA_VERSION}`, 'libs'),
    kafkaLibsMarker: path.join(c, `kafka-${KAFKA_VERSION}`, '.complete'),
    apicurioArchiveDir: path.join(c, 'apicurio'),
    apicurioDir: path.join(c, `apicurio-registry-${APICURIO_VERSION}`),
    apicurioMarker: path.join(c, `apicurio-registry-${APICURIO_VERSION}`, '.complete'),
  };
}

export function mkdirp(dir: string, mode?: number): string {
  fs.mkdirSync(dir, { recursive: true, mode });
  return dir;
}

/** Writes a file only its owner can read; secrets (PINs, keystore passwords) go through here. */
export function writePrivate(file: string, content: string | Buffer): void {
  mkdirp(path.dirname(file), 0o700);
  fs.writeFileSync(file, content, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}
