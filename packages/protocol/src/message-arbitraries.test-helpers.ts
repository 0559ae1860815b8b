import fc from 'fast-check';
import type {
  ClientInfo,
  Command,
  Publication,
  Push,
  Reply,
  StreamPosition,
  SubscribeRequest,
  SubscribeResult,
} from './messages.js';

/**
 * fast-check arbitraries of canonical protocol messages: optional fields are either absent or
 * hold a non-default value, so `decode(encode(m))` must equal `m` exactly. Byte fields come from
 * `bytes`, since the JSON codec needs them to hold JSON text and Protobuf takes anything.
 */

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const nonEmptyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const uint32 = fc.integer({ min: 0, max: 0xffffffff });
const posUint32 = fc.integer({ min: 1, max: 0xffffffff });
const uint64 = fc.maxSafeNat();
const posUint64 = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const nonZeroInt64 = fc.maxSafeInteger().filter((n) => n !== 0);
const yes = fc.constant(true as const);
// Map keys exclude "__proto__": @bufbuild/protobuf's binary reader (used by the Protobuf
// *client* decode here, not by the server's encoder) assigns map entries with `obj[key] =`, which
// drops that key. Known limitation, noted in docs/protocol.md.
const mapKey = text.filter((k) => k !== '__proto__');
const stringMap = fc.dictionary(mapKey, text, { minKeys: 1, maxKeys: 3 });

/** Bytes holding one compact JSON value, as JSON clients send and expect. */
export const jsonBytes: fc.Arbitrary<Uint8Array> = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => new TextEncoder().encode(JSON.stringify(v)));

/** Any bytes, as Protobuf clients may send. */
export const anyBytes: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 40 });

/** Arbitraries of every message kind over one kind of payload bytes. */
export function messageArbitraries(bytes: fc.Arbitrary<Uint8Array>) {
  const someBytes = bytes.filter((b) => b.length > 0);
  const clientInfo: fc.Arbitrary<ClientInfo> = fc.record(
    { user: text, client: text, connInfo: someBytes, chanInfo: someBytes },
    { requiredKeys: ['user', 'client'] },
  );
  const publication: fc.Arbitrary<Publication> = fc.record(
    {
      data: bytes,
      info: clientInfo,
      offset: posUint64,
      tags: stringMap,
      delta: yes,
      time: nonZeroInt64,
      channel: nonEmptyText,
    },
    { requiredKeys: ['data'] },
  );
  const position: fc.Arbitrary<StreamPosition> = fc.record({ offset: uint64, epoch: text });
  const subscribeRequest: fc.Arbitrary<SubscribeRequest> = fc.record(
    {
      channel: nonEmptyText,
      token: nonEmptyText,
      recover: yes,
      epoch: nonEmptyText,
      offset: posUint64,
      data: someBytes,
      positioned: yes,
      recoverable: yes,
      joinLeave: yes,
      delta: nonEmptyText,
    },
    { requiredKeys: [] },
  );
  const subscribeResult: fc.Arbitrary<SubscribeResult> = fc.record(
    {
      expires: yes,
      ttl: posUint32,
      recoverable: yes,
      epoch: nonEmptyText,
      publications: fc.array(publication, { minLength: 1, maxLength: 2 }),
      recovered: yes,
      offset: posUint64,
      positioned: yes,
      data: someBytes,
      wasRecovering: yes,
      delta: yes,
    },
    { requiredKeys: [] },
  );
  const subsOf = <T>(arb: fc.Arbitrary<T>) =>
    fc.dictionary(
      nonEmptyText.filter((k) => k !== '__proto__'),
      arb,
      { minKeys: 1, maxKeys: 2 },
    );
  const channelOnly = fc.record({ channel: text });

  const command: fc.Arbitrary<Command> = fc.oneof(
    fc.record({ id: posUint32 }, { requiredKeys: [] }),
    fc.record(
      {
        id: posUint32,
        connect: fc.record(
          {
            token: nonEmptyText,
            data: someBytes,
            subs: subsOf(subscribeRequest),
            name: nonEmptyText,
            version: nonEmptyText,
            headers: stringMap,
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['connect'] },
    ),
    fc.record({ id: posUint32, subscribe: subscribeRequest }, { requiredKeys: ['subscribe'] }),
    fc.record({ id: posUint32, unsubscribe: channelOnly }),
    fc.record({ id: posUint32, publish: fc.record({ channel: text, data: bytes }) }),
    fc.record({ id: posUint32, presence: channelOnly }),
    fc.record({ id: posUint32, presenceStats: channelOnly }),
    fc.record({
      id: posUint32,
      history: fc.record(
        {
          channel: text,
          limit: fc.integer({ min: -0x80000000, max: 0x7fffffff }).filter((n) => n !== 0),
          since: position,
          reverse: yes,
        },
        { requiredKeys: ['channel'] },
      ),
    }),
    fc.record({ id: posUint32, ping: fc.constant({}) }),
    fc.record({ send: fc.record({ data: bytes }) }),
    fc.record(
      { id: posUint32, rpc: fc.record({ data: someBytes, method: nonEmptyText }, { requiredKeys: [] }) },
      { requiredKeys: ['rpc'] },
    ),
    fc.record({ id: posUint32, refresh: fc.record({ token: text }) }),
    fc.record({ id: posUint32, subRefresh: fc.record({ channel: text, token: text }) }),
  );

  const expiring = { expires: yes, ttl: posUint32 };
  const connectBody = {
    client: text,
    version: nonEmptyText,
    data: someBytes,
    subs: subsOf(subscribeResult),
    ...expiring,
    ping: posUint32,
    pong: yes,
    session: nonEmptyText,
    node: nonEmptyText,
    time: nonZeroInt64,
  };
  const push: fc.Arbitrary<Push> = fc.oneof(
    fc.record({ channel: nonEmptyText, pub: publication }, { requiredKeys: ['pub'] }),
    fc.record({ channel: nonEmptyText, join: fc.record({ info: clientInfo }) }, { requiredKeys: ['join'] }),
    fc.record({ channel: nonEmptyText, leave: fc.record({ info: clientInfo }) }, { requiredKeys: ['leave'] }),
    fc.record({ channel: nonEmptyText, unsubscribe: fc.record({ code: uint32, reason: text }) }),
    fc.record({ message: fc.record({ data: bytes }) }),
    fc.record({
      channel: nonEmptyText,
      subscribe: fc.record(
        { recoverable: yes, epoch: nonEmptyText, offset: posUint64, positioned: yes, data: someBytes },
        { requiredKeys: [] },
      ),
    }),
    fc.record({ connect: fc.record(connectBody, { requiredKeys: ['client'] }) }),
    fc.record({
      disconnect: fc.record({ code: uint32, reason: text, reconnect: yes }, { requiredKeys: ['code', 'reason'] }),
    }),
    fc.record({ refresh: fc.record(expiring, { requiredKeys: [] }) }),
    // Several bodies at once: the fast Protobuf path must leave these to protobuf-es.
    fc.record({ channel: nonEmptyText, pub: publication, join: fc.record({ info: clientInfo }) }),
  );

  const reply: fc.Arbitrary<Reply> = fc.oneof(
    fc.constant({}),
    fc.record({ push }),
    fc.record(
      {
        id: posUint32,
        error: fc.record({ code: uint32, message: text, temporary: yes }, { requiredKeys: ['code', 'message'] }),
      },
      { requiredKeys: ['error'] },
    ),
    fc.record({ id: posUint32, connect: fc.record(connectBody, { requiredKeys: ['client'] }) }),
    fc.record({ id: posUint32, subscribe: subscribeResult }),
    fc.record({ id: posUint32, unsubscribe: fc.constant({}) }),
    fc.record({ id: posUint32, publish: fc.constant({}) }),
    fc.record({
      id: posUint32,
      presence: fc.record({
        presence: fc.dictionary(
          nonEmptyText.filter((k) => k !== '__proto__'),
          clientInfo,
          { maxKeys: 3 },
        ),
      }),
    }),
    fc.record({ id: posUint32, presenceStats: fc.record({ numClients: uint32, numUsers: uint32 }) }),
    fc.record({
      id: posUint32,
      history: fc.record({ publications: fc.array(publication, { maxLength: 3 }), epoch: text, offset: uint64 }),
    }),
    fc.record({ id: posUint32, ping: fc.constant({}) }),
    fc.record({ id: posUint32, rpc: fc.record({ data: someBytes }, { requiredKeys: [] }) }),
    fc.record({
      id: posUint32,
      refresh: fc.record({ client: text, version: nonEmptyText, ...expiring }, { requiredKeys: ['client'] }),
    }),
    fc.record({ id: posUint32, subRefresh: fc.record(expiring, { requiredKeys: [] }) }),
  );

  return { clientInfo, publication, command, push, reply };
}
