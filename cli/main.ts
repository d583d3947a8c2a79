import * as fs from 'node:fs';
import * as path from 'node:path';
import { ForesightError } from '../core/errors';
import { UsageError } from './args';

/**
 * Each verb lives in cli/commands/<verb>.ts and exports `help` (text) and
 * `run(argv): Promise<number>` (the exit code). Verbs are found by file name, so adding one
 * touches no shared file.
 */
export interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<number>;
}

const commandsDir = path.join(__dirname, 'commands');

function verbs(): string[] {
  return fs
    .readdirSync(commandsDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function load(verb: string): Command {
  return require(path.join(commandsDir, verb + '.ts')) as Command;
}

function topHelp(): string {
  const lines = verbs().map((v) => `  ${v.padEnd(16)} ${load(v).summary}`);
  return `usage: foresight <verb> [options]\n\nverbs:\n${lines.join('\n')}\n\nRun 'foresight <verb> --help' for a verb's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    console.log(topHelp());
    return verb ? 0 : 2;
  }
  if (!/^[a-z][a-z-]*$/.test(verb) || !verbs().includes(verb)) {
    console.error(`foresight: unknown verb "${verb}"; run 'foresight --help' for the list`);
    return 2;
  }
  const cmd = load(verb);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`foresight ${verb}: ${err.message}`);
      return 2;
    }
    if (err instanceof ForesightError) {
      console.error(`foresight ${verb}: ${err.message}`);
      return 1;
    }
    console.error(`foresight ${verb}: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.FORESIGHT_DEBUG) console.error(err);
    return 1;
  }
}
