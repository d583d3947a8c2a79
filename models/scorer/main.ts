/**
 * Runs the scorer role as a process of its own: `tsx models/scorer/main.ts --model DIR
 * [--namespace N] [--group G] [--instance I] [--reload-ms MS]`. `run --role scorer` can call
 * startScorer directly instead. The model directory defaults to $FORESIGHT_HOME/model.
 */
import * as path from 'node:path';
import { parseArgs, str } from '../../cli/args';
import { loadConfig } from '../../core/config';
import { createLogger } from '../../core/log';
import { onShutdownSignals } from '../../streams';
import { startScorer } from './role';

const USAGE = 'tsx models/scorer/main.ts [--model DIR] [--namespace N] [--group G] [--instance I] [--reload-ms MS]';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { values: ['model', 'namespace', 'group', 'instance', 'reload-ms'] }, USAGE);
  const config = loadConfig();
  const reload = str(args, 'reload-ms');
  const role = await startScorer({
    config,
    modelDir: str(args, 'model') ?? path.join(config.home, 'model'),
    namespace: str(args, 'namespace'),
    groupId: str(args, 'group'),
    instanceId: str(args, 'instance'),
    reloadCheckMs: reload === undefined ? undefined : Number(reload),
    log: createLogger({ process: 'scorer' }),
  });
  onShutdownSignals([() => role.stop()]);
  await role.finished;
}

main().catch((err) => {
  process.stderr.write(`scorer: ${(err as Error).message}\n`);
  process.exit(1);
});
