import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { DEFAULT_PKCS11_MODULE } from '../../core/config';

/**
 * A private SoftHSM2 token directory for one test file: a real SoftHSM2, not a mock, but with
 * tokens nobody else sees, so tests need not share PINs or clean up each other's keys. SoftHSM2
 * reads SOFTHSM2_CONF at C_Initialize, so call this before opening the module.
 */
export interface TempSoftHsm {
  dir: string;
  conf: string;
  modulePath: string;
  cleanup(): void;
}

export function tempSoftHsm(prefix = 'fs-hsm-'): TempSoftHsm {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const tokens = path.join(dir, 'tokens');
  fs.mkdirSync(tokens, { mode: 0o700 });
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  // SoftHSM2 reads SOFTHSM2_CONF with getenv() at C_Initialize. Inside jest, `process.env` is a
  // copy private to the test's sandbox, so setting it there would leave SoftHSM2 on the system
  // token directory. vm.runInThisContext evaluates in the host context: its `process` is the real
  // one, whose env writes reach the C library.
  const hostEnv = (vm.runInThisContext('process') as NodeJS.Process).env;
  const previous = hostEnv.SOFTHSM2_CONF;
  hostEnv.SOFTHSM2_CONF = conf;
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    conf,
    modulePath: process.env.PKCS11_MODULE || DEFAULT_PKCS11_MODULE,
    cleanup() {
      for (const env of [hostEnv, process.env]) {
        if (previous === undefined) delete env.SOFTHSM2_CONF;
        else env.SOFTHSM2_CONF = previous;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
