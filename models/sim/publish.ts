import { ConfigError } from '../../core/errors';
import { JsonlRecord } from '../../schemas/types';

export interface PublishOptions {
  speedup?: number;
}

/** Placeholder until streams/ has its producer: names the missing piece instead of failing obscurely. */
export async function publishRecords(_records: JsonlRecord[], _opts: PublishOptions): Promise<number> {
  throw new ConfigError("simulate --publish needs the streams producer, which is not built yet; use --out FILE.jsonl and 'foresight publish --file FILE.jsonl'");
}
