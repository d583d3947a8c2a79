import { ForesightError, InvalidInputError, UnavailableError } from '../core/errors';

/**
 * Why a record went to `<topic>.dlq`. Written into the `dlq.reason` header, so other tools can
 * filter on it; the names are part of the contract with whoever reads the DLQ.
 */
export type DlqReason =
  | 'no-magic-byte' // empty value, too short, or first byte is not 0
  | 'unknown-schema-id' // the registry does not know the writer schema id
  | 'undecodable' // the bytes do not decode with the writer schema
  | 'incompatible-schema' // the writer schema cannot be read as this topic's schema
  | 'invalid' // decoded, but fails the topic's semantic checks
  | 'oversized' // the value is larger than any record of the topic can be (MAX_VALUE_BYTES)
  | 'retries-exhausted' // the handler kept failing with a non-retriable error
  | 'rejected'; // the handler itself said DLQ

/** A record that will never decode or validate: it belongs in the DLQ, not in a retry loop. */
export class BadRecordError extends InvalidInputError {
  constructor(
    readonly reason: DlqReason,
    readonly detail: string,
    cause?: unknown,
  ) {
    super(`${reason}: ${detail}`, cause);
  }
}

const NETWORK_CODES = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|timeout|fetch failed/i;

/**
 * Errors from @kafkajs/confluent-schema-registry (mappersmith responses) to ours. Network
 * failures arrive as status 400 with the socket error as message, so the message is checked too.
 */
export function registryError(err: unknown, what: string): ForesightError {
  if (err instanceof ForesightError) return err;
  const e = err as { status?: number; message?: string; name?: string } | undefined;
  const status = typeof e?.status === 'number' ? e.status : undefined;
  const msg = e?.message ?? String(err);
  // The library's own refusals (bad argument, compatibility, not found by schema) carry no status.
  if (status === undefined && e?.name?.startsWith('ConfluentSchemaRegistry') && !NETWORK_CODES.test(msg)) {
    return new InvalidInputError(`schema registry refused ${what}: ${msg}`, err);
  }
  if (status === undefined || status >= 500 || status === 408 || status === 429 || (status === 400 && NETWORK_CODES.test(msg))) {
    return new UnavailableError('schema registry', `${what}: ${msg}`, err);
  }
  return new InvalidInputError(`schema registry refused ${what} (HTTP ${status}): ${msg}`, err);
}

/**
 * The group or the transaction coordinator is moving (a rebalance, a coordinator fail-over, a
 * previous transaction still closing): kafkajs marks these not retriable because the consumer
 * must rejoin first, but the work itself should be tried again, not abandoned.
 */
const GROUP_IN_FLUX = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', 'CONCURRENT_TRANSACTIONS']);

/** kafkajs errors to ours: anything kafkajs marks retriable, and connection loss, is Unavailable. */
export function kafkaError(err: unknown, what: string): ForesightError {
  if (err instanceof ForesightError) return err;
  const e = err as { name?: string; message?: string; retriable?: boolean; type?: string; cause?: { retriable?: boolean } } | undefined;
  const name = e?.name ?? '';
  const msg = e?.message ?? String(err);
  // kafkajs gives up after its own retries with NumberOfRetriesExceeded (not retriable to it);
  // to us the broker is still just unavailable, and our caller's backoff takes over.
  const unavailable =
    e?.retriable === true ||
    e?.cause?.retriable === true ||
    /^KafkaJS(Connection|ConnectionClosed|RequestTimeout|NumberOfRetriesExceeded|BrokerNotFound|NoBrokerAvailable|Timeout|LockTimeout|GroupCoordinatorNotFound|MetadataNotLoaded|TopicMetadataNotLoaded)(Error)?$/.test(name) ||
    NETWORK_CODES.test(msg) ||
    GROUP_IN_FLUX.has(e?.type ?? '');
  if (unavailable) return new UnavailableError('kafka', `${what}: ${msg}`, err);
  return new ForesightError('KAFKA', `kafka: ${what}: ${msg}`, { retriable: false, cause: err });
}
