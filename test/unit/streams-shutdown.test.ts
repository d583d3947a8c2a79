import { onShutdownSignals } from '../../streams';

// Signals are emitted on the process object, which runs the handlers without killing anything.
describe('shutdown on signals', () => {
  it('runs every stopper once on the first signal, then exits 0', async () => {
    const stopped: string[] = [];
    const exits: number[] = [];
    const off = onShutdownSignals([async () => void stopped.push('consumer'), async () => void stopped.push('producer')], { exit: (c) => exits.push(c), signals: ['SIGUSR2'] });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      await new Promise((r) => setImmediate(r));
      expect(stopped.sort()).toEqual(['consumer', 'producer']);
      expect(exits).toEqual([0]);
    } finally {
      off();
    }
  });

  it('exits 1 when a stopper fails, and at once with 130 on a second signal', async () => {
    const exits: number[] = [];
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const off = onShutdownSignals([() => slow.then(() => Promise.reject(new Error('commit failed')))], { exit: (c) => exits.push(c), signals: ['SIGUSR2'] });
    try {
      process.emit('SIGUSR2', 'SIGUSR2');
      process.emit('SIGUSR2', 'SIGUSR2');
      expect(exits).toEqual([130]);
      release();
      await new Promise((r) => setTimeout(r, 10));
      expect(exits).toEqual([130, 1]);
    } finally {
      off();
    }
  });
});
