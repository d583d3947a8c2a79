import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../core/config';
import { dropNamespace } from '../../streams';

/**
 * Gives each test its own Kafka namespace (topics and subjects `<ns>.*`) and drops every one made
 * when the suite ends, so a long-lived local stack does not fill up. Call at module level.
 */
export function testNamespaces(prefix: string): () => string {
  const made: string[] = [];
  afterAll(async () => {
    const c = loadConfig();
    for (const ns of made) await dropNamespace(c, ns).catch(() => undefined);
  });
  return () => {
    const ns = `${prefix}-${randomUUID().slice(0, 8)}`;
    made.push(ns);
    return ns;
  };
}
