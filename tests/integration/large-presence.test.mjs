// A presence channel at its member limit can always be joined: the member list is the server's
// own answer, so it is delivered whatever its size (1000 members with 128-character ids and
// 1 KB of quote-heavy user_info are about 3 MB once Pusher's double encoding has escaped the
// info twice), and the joiner is not dropped as a slow consumer with 4100.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed } from './lib/clients.mjs';

const MEMBERS = 1000;
const idOf = (i) => `u${String(i).padStart(127, '0')}`; // 128 characters
// 1 KB of JSON text, nearly all of it quotes: each becomes \" in the JSON and \\\" in `data`.
const infoOf = (i) => {
  const text = { n: i, q: '' };
  while (JSON.stringify(text).length + 2 <= 1024) text.q += '"';
  return text;
};

describe('a presence channel at its limit of 1000 members', () => {
  let server;
  let auth;
  let clients;
  const app = makeApp({ max_presence_members: MEMBERS, max_user_info_bytes: 1024, max_user_id_length: 128 });
  const channel = 'presence-crowd';

  before(async () => {
    // The members stay silent (paused) for the whole test, which in a sanitizer build lasts
    // longer than the test default of 30 s of silence + 30 s for the pong.
    server = await startServer({ apps: [app], server: { activity_timeout: 120, pong_timeout: 120 } });
    auth = await startAuthEndpoint(app);
    clients = new Clients(server);
  });
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  test('a new joiner gets every member in subscription_succeeded and stays connected', { timeout: 400000 }, async () => {
    assert.equal(JSON.stringify(infoOf(999)).length <= 1024, true);
    // The first 999 members join with raw clients, a few at a time.
    for (let start = 0; start < MEMBERS - 1; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, MEMBERS - 1 - start) }, async (_, k) => {
          const i = start + k;
          // Generous bounds: every join makes the server build and send a list of megabytes,
          // which takes a while in a sanitizer build on a busy machine.
          const c = await clients.raw({ wsOptions: { handshakeTimeout: 60000 }, establishedMs: 60000 });
          const answer = await c.subscribePresence(app, channel, idOf(i), infoOf(i), 60000);
          assert.equal(answer.event, 'pusher_internal:subscription_succeeded', JSON.stringify(answer).slice(0, 300));
          c.ws._socket.pause(); // the members' own traffic does not matter here
        }),
      );
    }
    // The 1000th joins with pusher-js, as a page would.
    const pusher = clients.pusher({ auth, user: { id: idOf(MEMBERS - 1), info: infoOf(MEMBERS - 1) } });
    const closes = [];
    pusher.connection.bind('state_change', ({ current }) => closes.push(current));
    const members = await subscribed(pusher.subscribe(channel), 60000);
    assert.equal(members.count, MEMBERS, server.logs().slice(-3000));
    assert.deepEqual(members.me.info, infoOf(MEMBERS - 1));
    const ids = [];
    members.each((m) => ids.push(m.id));
    assert.equal(new Set(ids).size, MEMBERS);
    assert.deepEqual(members.get(idOf(5)).info, infoOf(5), 'user_info arrives intact');
    // Still connected: a ping round trip after the list, and no 4100 in the log.
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(pusher.connection.state, 'connected', `states: ${closes.join(' → ')}`);
    assert.doesNotMatch(server.stdout() + server.stderr(), /with 4100/, server.logs());
  });
});
