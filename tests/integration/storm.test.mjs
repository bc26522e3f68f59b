// Many users joining and leaving one presence channel at the same moment, over both event-loop
// threads: every member must end up with exactly the same view as the server. This guards the
// ordering of a joiner's snapshot against the member events that follow it across threads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startServer, makeApp } from './lib/server.mjs';
import { Clients, waitFor, dataOf } from './lib/clients.mjs';

const USERS = 300;
const CHANNEL = 'presence-storm';
let server;
let clients;
const app = makeApp({ offline_grace_ms: 0, max_presence_members: 1000 });

before(async () => {
  server = await startServer({ server: { threads: 2 }, apps: [app] });
  clients = new Clients(server);
});

after(async () => {
  await clients.closeAll();
  await server.stop();
});

// The members a client believes are present: its snapshot, then the events after it.
function view(client) {
  let members = null;
  for (const { msg } of client.frames) {
    if (msg.channel !== CHANNEL) continue;
    const data = dataOf(msg);
    if (msg.event === 'pusher_internal:subscription_succeeded') {
      members = new Set(data.presence.ids);
    } else if (members && msg.event === 'pusher_internal:member_added') {
      members.add(data.user_id);
    } else if (members && msg.event === 'pusher_internal:member_removed') {
      members.delete(data.user_id);
    }
  }
  return members;
}

test(`${USERS} users joining at once each see all ${USERS}, then half leaving are seen leaving`, { timeout: 60000 }, async () => {
  const all = await Promise.all(Array.from({ length: USERS }, () => clients.raw()));
  // Subscribe everyone without waiting, so joins race on both threads.
  const answers = all.map((c, i) => c.subscribePresence(app, CHANNEL, `u${i}`, { n: i }));
  for (const answer of await Promise.all(answers)) {
    assert.equal(answer.event, 'pusher_internal:subscription_succeeded');
  }
  await waitFor(() => all.every((c) => view(c)?.size === USERS), 20000, `every client sees ${USERS} members`);

  const leaving = all.slice(0, USERS / 2);
  const staying = all.slice(USERS / 2);
  for (const c of leaving) c.terminate();
  const expected = new Set(staying.map((_, i) => `u${i + USERS / 2}`));
  await waitFor(
    () => staying.every((c) => view(c).size === expected.size && [...view(c)].every((id) => expected.has(id))),
    20000,
    'every remaining client sees exactly the remaining members',
  );
});
