import { describe, expect, it } from 'vitest';
import { EmulationRequestError, parseEmulationRequest } from './emulation-request.js';

const utf8 = new TextEncoder();

/** Protobuf length-delimited field (wire type 2) with a one-byte length. */
const field = (n: number, bytes: Uint8Array) => [(n << 3) | 2, bytes.length, ...bytes];

describe('parseEmulationRequest', () => {
  it('reads the JSON form the centrifuge SDK sends (data is the commands text)', () => {
    const body = utf8.encode(JSON.stringify({ session: 's1', node: 'n1', data: '{"id":2,"ping":{}}\n{}' }));
    const req = parseEmulationRequest(body, false);
    expect(req.session).toBe('s1');
    expect(req.node).toBe('n1');
    expect(new TextDecoder().decode(req.data)).toBe('{"id":2,"ping":{}}\n{}');
  });

  it('reads the Protobuf form, skipping unknown fields', () => {
    const data = new Uint8Array([3, 8, 2, 0x5a]);
    const body = new Uint8Array([
      ...field(1, utf8.encode('node-a')),
      0x38, // field 7, varint: unknown
      0x96,
      0x01,
      ...field(2, utf8.encode('sess')),
      ...field(3, data),
    ]);
    const req = parseEmulationRequest(body, true);
    expect(req).toEqual({ node: 'node-a', session: 'sess', data });
  });

  it.each([
    ['not JSON', '{"session":'],
    ['an array', '[]'],
    ['no session', '{"node":"n","data":"{}"}'],
    ['data not a string', '{"session":"s","data":{"id":1}}'],
    ['node not a string', '{"session":"s","node":1,"data":"{}"}'],
  ])('rejects a JSON body that is %s', (_name, text) => {
    expect(() => parseEmulationRequest(utf8.encode(text), false)).toThrow(EmulationRequestError);
  });

  it.each([
    ['truncated', new Uint8Array([0x12, 0x7f, 0x61])],
    ['without a session', new Uint8Array(field(1, utf8.encode('n')))],
    ['with an unterminated varint', new Uint8Array([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ['with a reserved wire type', new Uint8Array([0x0b])],
    ['with invalid UTF-8 in the session', new Uint8Array(field(2, new Uint8Array([0xff, 0xfe])))],
  ])('rejects a Protobuf body %s', (_name, body) => {
    expect(() => parseEmulationRequest(body, true)).toThrow(EmulationRequestError);
  });
});
