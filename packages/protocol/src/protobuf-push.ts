import type { ClientInfo, Publication, Push } from './messages.js';
import { utf8Length, writeUtf8 } from './utf8.js';
import { varintSize, writeVarint } from './varint.js';

/**
 * Hand-written Protobuf encoder for the fan-out pushes (publication, join, leave, message): the
 * whole varint-delimited `Reply { push }` unit is sized first and written into one exact buffer,
 * so the payload is copied once and no intermediate message objects are built. The output is
 * byte-identical to protobuf-es `toBinary` of the same reply (a test checks it); other pushes go
 * through protobuf-es.
 *
 * Field numbers are those of proto/client.proto; all are below 16, so every tag is one byte.
 */

// Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
const REPLY_PUSH = 0x22;
const PUSH_CHANNEL = 0x12;
const PUSH_PUB = 0x22;
const PUSH_JOIN = 0x2a;
const PUSH_LEAVE = 0x32;
const PUSH_MESSAGE = 0x42;
const PUB_DATA = 0x22;
const PUB_INFO = 0x2a;
const PUB_OFFSET = 0x30;
const PUB_TAGS = 0x3a;
const PUB_DELTA = 0x40;
const PUB_TIME = 0x48;
const PUB_CHANNEL = 0x52;
const INFO_USER = 0x0a;
const INFO_CLIENT = 0x12;
const INFO_CONN = 0x1a;
const INFO_CHAN = 0x22;
const JOIN_INFO = 0x0a;
const MESSAGE_DATA = 0x0a;
const ENTRY_KEY = 0x0a;
const ENTRY_VALUE = 0x12;

function isUint(n: number | undefined): boolean {
  return n === undefined || (Number.isSafeInteger(n) && n >= 0);
}

/** True when `push` is one this encoder handles (a fan-out body, non-negative integers). */
export function isFastPush(push: Push): boolean {
  const { pub } = push;
  if (push.unsubscribe || push.subscribe || push.connect || push.disconnect || push.refresh) return false;
  if (pub) return isUint(pub.offset) && isUint(pub.time) && !(push.join || push.leave || push.message);
  return (push.join ? 1 : 0) + (push.leave ? 1 : 0) + (push.message ? 1 : 0) === 1;
}

/** Size of a length-delimited field (one-byte tag) with `n` bytes of content. */
function lenField(n: number): number {
  return 1 + varintSize(n) + n;
}

function strField(s: string | undefined): number {
  return s ? lenField(utf8Length(s)) : 0;
}

function bytesField(b: Uint8Array | undefined): number {
  return b && b.length > 0 ? lenField(b.length) : 0;
}

function infoSize(info: ClientInfo): number {
  return strField(info.user) + strField(info.client) + bytesField(info.connInfo) + bytesField(info.chanInfo);
}

function entrySize(key: string, value: string): number {
  return lenField(utf8Length(key)) + lenField(utf8Length(value));
}

function pubSize(pub: Publication): number {
  let n = bytesField(pub.data);
  if (pub.info) n += lenField(infoSize(pub.info));
  if (pub.offset) n += 1 + varintSize(pub.offset);
  if (pub.tags) for (const key in pub.tags) n += lenField(entrySize(key, pub.tags[key] as string));
  if (pub.delta) n += 2;
  if (pub.time) n += 1 + varintSize(pub.time);
  return n + strField(pub.channel);
}

/** Writer over one exactly sized buffer. */
class Out {
  readonly buf: Uint8Array;
  pos = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    this.pos = writeVarint(this.buf, this.pos, n);
  }
  head(tag: number, length: number): void {
    this.buf[this.pos++] = tag;
    this.pos = writeVarint(this.buf, this.pos, length);
  }
  str(tag: number, s: string | undefined): void {
    if (!s) return;
    const n = utf8Length(s);
    this.head(tag, n);
    this.pos = writeUtf8(this.buf, this.pos, s, n);
  }
  bytes(tag: number, b: Uint8Array | undefined): void {
    if (!b || b.length === 0) return;
    this.head(tag, b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  info(tag: number, info: ClientInfo): void {
    this.head(tag, infoSize(info));
    this.str(INFO_USER, info.user);
    this.str(INFO_CLIENT, info.client);
    this.bytes(INFO_CONN, info.connInfo);
    this.bytes(INFO_CHAN, info.chanInfo);
  }
  pub(pub: Publication, size: number): void {
    this.head(PUSH_PUB, size);
    this.bytes(PUB_DATA, pub.data);
    if (pub.info) this.info(PUB_INFO, pub.info);
    if (pub.offset) {
      this.byte(PUB_OFFSET);
      this.varint(pub.offset);
    }
    if (pub.tags) {
      for (const key in pub.tags) {
        const value = pub.tags[key] as string;
        this.head(PUB_TAGS, entrySize(key, value));
        this.head(ENTRY_KEY, utf8Length(key));
        this.pos = writeUtf8(this.buf, this.pos, key, utf8Length(key));
        this.head(ENTRY_VALUE, utf8Length(value));
        this.pos = writeUtf8(this.buf, this.pos, value, utf8Length(value));
      }
    }
    if (pub.delta) {
      this.byte(PUB_DELTA);
      this.byte(1);
    }
    if (pub.time) {
      this.byte(PUB_TIME);
      this.varint(pub.time);
    }
    this.str(PUB_CHANNEL, pub.channel);
  }
}

/**
 * Encodes `Reply { push }` as one varint-delimited unit. Only for pushes accepted by
 * `isFastPush`.
 */
export function encodeFastPush(push: Push): Uint8Array {
  let bodySize: number;
  if (push.pub) bodySize = pubSize(push.pub);
  else if (push.join || push.leave) bodySize = lenField(infoSize((push.join ?? push.leave)?.info as ClientInfo));
  else bodySize = bytesField(push.message?.data);
  const pushSize = strField(push.channel) + lenField(bodySize);
  const replySize = lenField(pushSize);
  const out = new Out(varintSize(replySize) + replySize);
  out.varint(replySize);
  out.head(REPLY_PUSH, pushSize);
  out.str(PUSH_CHANNEL, push.channel);
  if (push.pub) {
    out.pub(push.pub, bodySize);
  } else if (push.join || push.leave) {
    out.head(push.join ? PUSH_JOIN : PUSH_LEAVE, bodySize);
    out.info(JOIN_INFO, (push.join ?? push.leave)?.info as ClientInfo);
  } else {
    out.head(PUSH_MESSAGE, bodySize);
    out.bytes(MESSAGE_DATA, push.message?.data);
  }
  return out.buf;
}
