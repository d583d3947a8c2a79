import { ForesightError } from '../core/errors';
import type { ChainBreak } from './hash-chain';

/** A stream's hash chain does not verify: history was altered or an event forged. Never retried. */
export class TamperError extends ForesightError {
  readonly chainBreak: ChainBreak;
  constructor(b: ChainBreak) {
    super('TAMPERED', `stream ${b.stream} revision ${b.revision}: ${b.reason} (expected ${b.expected}, found ${b.found})`, {
      retriable: false,
    });
    this.chainBreak = b;
  }
}

/** The stream was tombstoned; nothing can be appended to it again. */
export class StreamDeletedError extends ForesightError {
  constructor(stream: string, cause?: unknown) {
    super('STREAM_DELETED', `stream ${stream} is deleted (tombstoned); it cannot be written again`, { retriable: false, cause });
  }
}
