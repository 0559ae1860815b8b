import { describe, expect, it } from 'vitest';
import { codecFor, msgpackSubprotocol, protobufSubprotocol } from './codec-for.js';
import {
  DisconnectCode,
  disconnectOf,
  disconnectReasons,
  ErrorCode,
  errorMessages,
  shouldReconnect,
  UnsubscribeCode,
  unsubscribeReasons,
} from './codes.js';
import { isTidingsError, TidingsErrorCode } from './errors.js';
import { jsonCodec } from './json-codec.js';
import { msgpackCodec } from './msgpack-codec.js';
import { protobufCodec } from './protobuf-codec.js';

// The published tables (centrifugal.dev/docs/server/codes): the SDKs act on these numbers.
describe('wire codes', () => {
  it('error codes, messages and temporary flags match the published table', () => {
    expect(Object.values(ErrorCode)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112]);
    expect(errorMessages[ErrorCode.Internal]).toEqual({ message: 'internal server error', temporary: true });
    expect(errorMessages[ErrorCode.TooManyRequests]).toEqual({ message: 'too many requests', temporary: true });
    expect(errorMessages[ErrorCode.UnrecoverablePosition]).toEqual({
      message: 'unrecoverable position',
      temporary: false,
    });
    const temporary = Object.entries(errorMessages)
      .filter(([, m]) => m.temporary)
      .map(([code]) => Number(code));
    expect(temporary).toEqual([100, 111]);
  });

  it('disconnect codes and reasons match the published table', () => {
    expect(disconnectReasons).toEqual({
      3000: 'connection closed',
      3001: 'shutdown',
      3004: 'internal server error',
      3005: 'connection expired',
      3006: 'subscription expired',
      3008: 'slow',
      3009: 'write error',
      3010: 'insufficient state',
      3011: 'force reconnect',
      3012: 'no pong',
      3013: 'too many requests',
      3500: 'invalid token',
      3501: 'bad request',
      3502: 'stale',
      3503: 'force disconnect',
      3504: 'connection limit',
      3505: 'channel limit',
      3506: 'inappropriate protocol',
      3507: 'permission denied',
      3508: 'not available',
      3509: 'too many errors',
    });
    expect(disconnectOf(DisconnectCode.NoPong)).toEqual({ code: 3012, reason: 'no pong' });
  });

  it('unsubscribe codes match the published table', () => {
    expect(unsubscribeReasons).toEqual({
      [UnsubscribeCode.Server]: 'server unsubscribe',
      [UnsubscribeCode.InsufficientState]: 'insufficient state',
      [UnsubscribeCode.Expired]: 'subscription expired',
    });
    expect(Object.values(UnsubscribeCode)).toEqual([2000, 2500, 2501]);
  });

  it('shouldReconnect follows the code ranges', () => {
    expect([3000, 3012, 3499, 4000, 4499].every(shouldReconnect)).toBe(true);
    expect([3500, 3999, 4500, 4999].some(shouldReconnect)).toBe(false);
  });
});

describe('codecFor', () => {
  it('returns the codec of a name and rejects others', () => {
    expect(codecFor('json')).toBe(jsonCodec);
    expect(codecFor('protobuf')).toBe(protobufCodec);
    expect(codecFor('msgpack')).toBe(msgpackCodec);
    expect(protobufSubprotocol).toBe('centrifuge-protobuf');
    expect(msgpackSubprotocol).toBe('tidings-msgpack');
    expect([jsonCodec.binary, protobufCodec.binary, msgpackCodec.binary]).toEqual([false, true, true]);
    let error: unknown;
    try {
      codecFor('xml' as 'json');
    } catch (err) {
      error = err;
    }
    expect(isTidingsError(error) && error.code === TidingsErrorCode.Config).toBe(true);
  });
});
