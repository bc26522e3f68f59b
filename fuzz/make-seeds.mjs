// Writes the seed corpora in fuzz/corpus/<target>/: small valid and broken inputs, each named for
// what it is, that take every target past its parsers' first checks (see `make fuzz`). The files
// are committed; run this again (node fuzz/make-seeds.mjs) after changing it.
import { createHmac } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

function writeCorpus(target, seeds) {
  const dir = join(root, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(seeds)) writeFileSync(join(dir, name), bytes);
}

// ---- pusher_messages_fuzz: the same text goes to every reader, so the seeds are client
// messages, presence channel_data and signin user_data as pusher-js and backends write them.
const channelData = JSON.stringify({ user_id: 'alice', user_info: { name: 'Alice' } });
const userData = JSON.stringify({ id: 'bob', user_info: { name: 'Bob' }, watchlist: ['alice', 42] });
writeCorpus('pusher_messages_fuzz', {
  'ping.json': '{"event":"pusher:ping","data":{}}',
  'subscribe-public.json': '{"event":"pusher:subscribe","data":{"channel":"chat"}}',
  'subscribe-private.json': JSON.stringify({
    event: 'pusher:subscribe',
    data: { auth: 'key:6c1f0c3e8d3f4f5f0e3b4d2a1c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e', channel: 'private-orders' },
  }),
  'subscribe-presence.json': JSON.stringify({
    event: 'pusher:subscribe',
    data: { auth: 'key:0123abcd', channel_data: channelData, channel: 'presence-room.1' },
  }),
  'subscribe-data-as-string.json': JSON.stringify({
    event: 'pusher:subscribe',
    data: JSON.stringify({ channel: 'presence-room.1', auth: 'key:00', channel_data: channelData }),
  }),
  'subscribe-auth-not-string.json': '{"event":"pusher:subscribe","data":{"channel":"private-a","auth":7}}',
  'unsubscribe.json': '{"event":"pusher:unsubscribe","data":{"channel":"presence-room.1"}}',
  // Read as given: channel names are checked by the connection, not by these readers.
  'unsubscribe-empty-channel.json': '{"event":"pusher:unsubscribe","data":{"channel":""}}',
  'signin.json': JSON.stringify({ event: 'pusher:signin', data: { auth: 'key:abcd', user_data: userData } }),
  'client-event.json': '{"event":"client-typing","channel":"private-chat","data":{"typing":true}}',
  'status.json': '{"event":"greendot:status","data":{"status":"away"}}',
  'channel-null.json': '{"event":"pusher:ping","channel":null,"data":null}',
  'event-not-string.json': '{"event":42,"data":{}}',
  'not-object.json': '["pusher:ping"]',
  'truncated.json': '{"event":"pusher:subscribe","data":{"chan',
  'channel-data.json': channelData,
  'channel-data-number-id.json': '{"user_id":10,"user_info":null}',
  'channel-data-float-id.json': '{"user_id":10.0}',
  'channel-data-bad-id.json': '{"user_id":"has space","user_info":{}}',
  'channel-data-info-array.json': '{"user_id":"u","user_info":[1,2]}',
  'channel-data-info-large.json': JSON.stringify({ user_id: 'u', user_info: { bio: 'x'.repeat(80) } }),
  'user-data.json': userData,
  'user-data-bad-watchlist.json': '{"id":"bob","watchlist":"alice"}',
  'user-data-numeric-id.json': '{"id":7}',
});

// ---- websocket_frame_fuzz: byte 0 chooses the role (odd: client, parsing unmasked server
// frames; even: server, parsing masked client frames) and how the rest is split.
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
function frame(opcode, payload, { fin = true, mask = true, rsv = 0 } = {}) {
  const body = Buffer.from(payload);
  const head = [(fin ? 0x80 : 0) | rsv | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (body.length < 126) head.push(maskBit | body.length);
  else if (body.length < 65536) head.push(maskBit | 126, body.length >> 8, body.length & 0xff);
  else {
    head.push(maskBit | 127);
    for (let shift = 56; shift >= 0; shift -= 8) head.push(Number((BigInt(body.length) >> BigInt(shift)) & 0xffn));
  }
  if (!mask) return Buffer.concat([Buffer.from(head), body]);
  const masked = Buffer.from(body.map((b, i) => b ^ MASK[i % 4]));
  return Buffer.concat([Buffer.from(head), MASK, masked]);
}
const close = (code, reason, options) => {
  const body = Buffer.alloc(2);
  body.writeUInt16BE(code);
  return frame(0x8, Buffer.concat([body, Buffer.from(reason)]), options);
};
const asServer = (...frames) => Buffer.concat([Buffer.from([0x00]), ...frames]);
const asServerSplit = (...frames) => Buffer.concat([Buffer.from([0x5a]), ...frames]);
const asClient = (...frames) => Buffer.concat([Buffer.from([0x01]), ...frames]);
const ping = '{"event":"pusher:ping","data":{}}';
writeCorpus('websocket_frame_fuzz', {
  'masked-text': asServer(frame(0x1, ping)),
  'masked-text-split': asServerSplit(frame(0x1, ping), frame(0x1, 'second')),
  'masked-binary': asServer(frame(0x2, Buffer.from([0, 1, 2, 255]))),
  'masked-fragmented-with-ping': asServerSplit(
    frame(0x1, 'hel', { fin: false }),
    frame(0x9, 'are you there', {}),
    frame(0x0, 'lo ', { fin: false }),
    frame(0x0, 'wörld'),
  ),
  'masked-ping-pong': asServer(frame(0x9, 'p'), frame(0xa, '')),
  'masked-close': asServer(close(1000, 'bye')),
  'masked-close-empty': asServer(frame(0x8, '')),
  'masked-close-bad-code': asServer(close(999, '')),
  'masked-close-one-byte': asServer(frame(0x8, Buffer.from([3]))),
  'masked-16bit-length-too-big': asServer(frame(0x2, Buffer.alloc(60, 7)), frame(0x1, 'x'.repeat(130))),
  // Lengths in the longer forms for short payloads (RFC 6455 asks for the shortest form).
  'masked-16bit-length-short': asServer(Buffer.from([0x81, 0xfe, 0x00, 0x02]), MASK, Buffer.from('hi').map((b, i) => b ^ MASK[i])),
  'masked-64bit-length-huge': asServer(Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]), MASK),
  'masked-64bit-length-top-bit': asServer(Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1]), MASK),
  'masked-invalid-utf8': asServer(frame(0x1, Buffer.from([0x68, 0xc3, 0x28]))),
  'masked-control-fragmented': asServer(frame(0x9, 'x', { fin: false })),
  'masked-control-too-long': asServer(frame(0x9, 'p'.repeat(126))),
  'masked-continuation-first': asServer(frame(0x0, 'orphan')),
  'masked-rsv-bit': asServer(frame(0x1, 'x', { rsv: 0x40 })),
  'masked-reserved-opcode': asServer(frame(0x3, 'x')),
  'unmasked-in-server-role': asServer(frame(0x1, 'x', { mask: false })),
  'unmasked-text': asClient(frame(0x1, ping, { mask: false })),
  'unmasked-fragmented': asClient(frame(0x1, 'a', { fin: false, mask: false }), frame(0x0, 'b', { mask: false })),
  'unmasked-close': asClient(close(4100, 'slow consumer', { mask: false })),
  'masked-in-client-role': asClient(frame(0x1, 'x')),
});

// ---- user_token_fuzz: the text is verified as a token with the secret "fuzz-secret" at
// 1,800,000,000 s, and also signed as a payload, so the seeds are tokens and payloads.
const SECRET = 'fuzz-secret';
const b64url = (text) => Buffer.from(text).toString('base64url');
function jwt(payload, { header = { alg: 'HS256', typ: 'JWT' }, secret = SECRET } = {}) {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
const valid = { sub: 'alice', exp: 1900000000, user_info: { name: 'Alice' } };
const scoped = { sub: 'carol', exp: 1800000600, aud: 'app-1', contexts: ['chat.42', 'room.*'] };
writeCorpus('user_token_fuzz', {
  'valid': jwt(valid),
  'valid-numeric-sub-nbf': jwt({ sub: 42, exp: 1900000000, nbf: 1700000000, iat: 1700000000 }),
  'valid-scoped': jwt(scoped),
  'expired': jwt({ sub: 'alice', exp: 1700000000 }),
  'not-yet-valid': jwt({ sub: 'alice', exp: 1900000000, nbf: 1850000000 }),
  'no-exp': jwt({ sub: 'alice' }),
  'sub-too-long': jwt({ sub: 'a'.repeat(40), exp: 1900000000 }),
  'user-info-not-object': jwt({ sub: 'alice', exp: 1900000000, user_info: 'Alice' }),
  'wrong-secret': jwt(valid, { secret: 'another-secret' }),
  'alg-none': `${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(valid))}.`,
  'alg-rs256': jwt(valid, { header: { alg: 'RS256', typ: 'JWT' } }),
  'bad-base64': 'eyJhbGciOiJIUzI1NiJ9.!!!.abc',
  'two-parts': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0',
  'payload-valid.json': JSON.stringify(valid),
  'payload-scoped.json': JSON.stringify(scoped),
  'payload-exp-string.json': '{"sub":"alice","exp":"1900000000"}',
  'payload-exp-float.json': '{"sub":"alice","exp":1.9e9}',
  'payload-not-object.json': '[1,2,3]',
});

// ---- redis_reply_fuzz: replies as redis-server 7.0 writes them, in RESP2 and RESP3 (HELLO 3),
// and broken ones.
writeCorpus('redis_reply_fuzz', {
  'ok.resp': '+OK\r\n',
  'error.resp': "-ERR unknown command 'FOO'\r\n",
  'moved.resp': '-MOVED 3999 127.0.0.1:6381\r\n',
  'integer.resp': ':1000\r\n',
  'bulk.resp': '$5\r\nhello\r\n',
  'null-bulk.resp': '$-1\r\n',
  'null-array.resp': '*-1\r\n',
  'array.resp': '*3\r\n$3\r\nfoo\r\n:42\r\n*1\r\n+nested\r\n',
  'pipelined.resp': '+OK\r\n:1\r\n$1\r\nx\r\n',
  'hello3.resp':
    '%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n' +
    '$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$7\r\ncluster\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n',
  'push-message.resp': '>3\r\n$8\r\nsmessage\r\n$9\r\n{gd:0}:ch\r\n$5\r\nhello\r\n',
  'resp3-scalars.resp': '_\r\n,1.5\r\n#t\r\n(3492890328409238509324850943850943825024385\r\n!3\r\nbad\r\n=8\r\ntxt:some\r\n',
  'set-and-attribute.resp': '~2\r\n:1\r\n:2\r\n|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n:7\r\n',
  'cluster-shards.resp':
    '*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*1\r\n%3\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n' +
    '$4\r\nport\r\n:7000\r\n$4\r\nrole\r\n$6\r\nmaster\r\n',
  'split-crlf.resp': '$3\r\nfoo\r',
  'bad-type.resp': '?what\r\n',
  'bad-length.resp': '$-2\r\n',
  'deep.resp': '*1\r\n'.repeat(20) + ':1\r\n',
});
