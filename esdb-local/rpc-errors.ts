/**
 * Errors exactly as EventStoreDB sends them: a gRPC status plus `exception` trailers, which the
 * client's convertToCommandError turns into its own error classes (StreamDeletedError,
 * WrongExpectedVersionError, MaxAppendSizeExceededError, ...).
 */
import { Metadata, status } from '@grpc/grpc-js';
import { Expected } from './decide';

export interface RpcError {
  code: status;
  details: string;
  message: string;
  metadata: Metadata;
}

function rpcError(code: status, details: string, trailers: Record<string, string> = {}): RpcError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return { code, details, message: details, metadata };
}

export function streamDeleted(stream: string): RpcError {
  return rpcError(status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, {
    exception: 'stream-deleted',
    'stream-name': stream,
  });
}

/** EventStoreDB's numeric expected versions: any -2, no_stream -1, stream_exists -4. */
export function expectedVersionNumber(expected: Expected): number {
  switch (expected.kind) {
    case 'any':
      return -2;
    case 'no_stream':
      return -1;
    case 'stream_exists':
      return -4;
    case 'revision':
      return expected.revision;
  }
}

export function wrongExpectedVersion(operation: string, stream: string, expected: Expected, actual: number): RpcError {
  const exp = expectedVersionNumber(expected);
  return rpcError(
    status.FAILED_PRECONDITION,
    `${operation} failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${exp}, Actual version: ${actual}`,
    {
      exception: 'wrong-expected-version',
      'stream-name': stream,
      'expected-version': String(exp),
      'actual-version': String(actual),
    },
  );
}

export function maxAppendSizeExceeded(max: number): RpcError {
  return rpcError(status.INVALID_ARGUMENT, `Maximum Append Size of ${max} Exceeded.`, {
    exception: 'maximum-append-size-exceeded',
    'maximum-append-size': String(max),
  });
}

export function requiredMetadataMissing(property: string): RpcError {
  return rpcError(status.INVALID_ARGUMENT, `Required Metadata Property '${property}' is missing`, {
    exception: 'missing-required-metadata-property',
    'required-metadata-properties': 'type,content-type',
  });
}

export function invalidArgument(details: string): RpcError {
  return rpcError(status.INVALID_ARGUMENT, details);
}

/** The store could not make a write durable: the client treats UNAVAILABLE as "reconnect and retry". */
export function unavailable(details: string): RpcError {
  return rpcError(status.UNAVAILABLE, details);
}

export function internal(details: string): RpcError {
  return rpcError(status.INTERNAL, details);
}
