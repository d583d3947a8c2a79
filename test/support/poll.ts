/**
 * Polls `f` every 250 ms until it gives a value (not undefined) and returns it; after `timeoutMs`
 * fails naming what it waited for, with `context()` (a log tail, say) when given.
 */
export async function pollFor<T>(what: string, f: () => Promise<T | undefined>, o: { timeoutMs?: number; context?: () => string } = {}): Promise<T> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  for (let waited = 0; waited < timeoutMs; waited += 250) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${o.context ? `; ${o.context()}` : ''}`);
}
