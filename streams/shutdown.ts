import { silentLogger, type Logger } from '../core/log';

/**
 * Graceful shutdown for a role process: on the first SIGINT/SIGTERM, run every stopper (stop
 * fetching, finish in-flight work, commit, disconnect); a second signal exits at once. Returns
 * a function that removes the handlers (tests, or a role that stops by itself).
 */
export function onShutdownSignals(
  stoppers: Array<() => Promise<void>>,
  opts: { log?: Logger; signals?: NodeJS.Signals[]; exit?: (code: number) => void } = {},
): () => void {
  const log = opts.log ?? silentLogger;
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn('second signal, exiting without waiting', { signal });
      exit(130);
      return;
    }
    stopping = true;
    log.info('stopping', { signal });
    Promise.allSettled(stoppers.map((s) => s())).then((results) => {
      const failed = results.filter((r) => r.status === 'rejected');
      for (const f of failed) log.error('stop failed', { error: (f as PromiseRejectedResult).reason });
      exit(failed.length ? 1 : 0);
    });
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
