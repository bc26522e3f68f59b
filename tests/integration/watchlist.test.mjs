// Watchlists (pusher:signin with user_data.watchlist), invisible users in presence channels,
// and online/away status, seen through the unmodified pusher-js client.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import Pusher from 'pusher';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { signedRaw } from './lib/signing.mjs';
import { Clients, subscribed, waitFor, withTimeout, userAuth, dataOf } from './lib/clients.mjs';

describe('watchlists, invisibility and status', () => {
  let server;
  let clients;
  let auth;
  let rest;
  const app = makeApp({ offline_grace_ms: 0, max_watchlist_size: 3 });

  before(async () => {
    server = await startServer({ apps: [app] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(app);
    rest = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  // A pusher-js client signed in as `id` with a watchlist, recording its watchlist events.
  async function watcher(id, watchlist) {
    const p = clients.pusher({ auth, user: { id, watchlist } });
    const seen = [];
    p.user.watchlist.bind('online', (e) => seen.push(['online', ...e.user_ids]));
    p.user.watchlist.bind('offline', (e) => seen.push(['offline', ...e.user_ids]));
    p.signin();
    await withTimeout(p.user.signinDonePromise, 5000, 'signin');
    return { p, seen };
  }

  async function signedIn(id) {
    const p = clients.pusher({ auth, user: { id } });
    p.signin();
    await withTimeout(p.user.signinDonePromise, 5000, `signin of ${id}`);
    return p;
  }

  async function setPrivacy(user, body) {
    const res = await signedRaw(server, app, 'PUT', `/users/${user}/privacy`, JSON.stringify(body));
    assert.equal(res.status, 200, res.body);
  }

  test('online users at sign-in, then online and offline as watched users come and go', { timeout: 20000 }, async () => {
    const already = await signedIn('w-1');
    const { seen } = await watcher('w-watcher', ['w-1', 'w-2']);
    await waitFor(() => seen.some((e) => e[0] === 'online' && e.includes('w-1')), 5000, 'w-1 reported online at sign-in');
    assert.ok(!seen.some((e) => e.includes('w-2')), 'w-2 is not online');

    const second = await signedIn('w-2');
    await waitFor(() => seen.some((e) => e[0] === 'online' && e.includes('w-2')), 5000, 'w-2 online');
    second.disconnect();
    await waitFor(() => seen.some((e) => e[0] === 'offline' && e.includes('w-2')), 5000, 'w-2 offline');
    already.disconnect();
    await waitFor(() => seen.some((e) => e[0] === 'offline' && e.includes('w-1')), 5000, 'w-1 offline');
    // Users not on the list are never reported: w-2 signs in after w-3, so an event about w-3
    // would have come before w-2's.
    await signedIn('w-3');
    await signedIn('w-2');
    await waitFor(() => seen.filter((e) => e[0] === 'online' && e.includes('w-2')).length === 2, 5000, 'w-2 online again');
    assert.ok(!seen.some((e) => e.includes('w-3')));
  });

  test('a member of a presence channel is online to watchers without signing in', { timeout: 15000 }, async () => {
    const { seen } = await watcher('w-watcher2', ['w-member']);
    const member = clients.pusher({ auth, user: { id: 'w-member' } });
    await subscribed(member.subscribe('presence-w.room'));
    await waitFor(() => seen.some((e) => e[0] === 'online' && e.includes('w-member')), 5000, 'online');
    member.disconnect();
    await waitFor(() => seen.some((e) => e[0] === 'offline' && e.includes('w-member')), 5000, 'offline');
  });

  test('more ids than max_watchlist_size: pusher:error 4302, the first ones kept, still signed in', { timeout: 15000 }, async () => {
    const c = await clients.raw({ app });
    const text = JSON.stringify({ id: 'w-many', watchlist: ['a', 'b', 'c', 'd'] });
    c.send({ event: 'pusher:signin', data: { auth: userAuth(app, c.socketId, text), user_data: text } });
    const error = await c.next((m) => m.event === 'pusher:error', 5000);
    assert.equal(dataOf(error).code, 4302);
    assert.match(dataOf(error).message, /first 3/);
    assert.ok(c.events('pusher:signin_success').length === 1);
    await c.ping();
  });

  test('an invisible user is in no one else\'s member list, never online to watchers, and sees themself', { timeout: 20000 }, async () => {
    await setPrivacy('ghost', { visibility: 'nobody' });
    const { seen } = await watcher('w-watcher3', ['ghost']);
    const observer = clients.pusher({ auth, user: { id: 'observer' } });
    const observed = observer.subscribe('presence-haunted');
    await subscribed(observed);
    const added = [];
    observed.bind('pusher:member_added', (m) => added.push(m.id));

    const ghost = clients.pusher({ auth, user: { id: 'ghost' } });
    const own = ghost.subscribe('presence-haunted');
    await subscribed(own);
    assert.ok(own.members.get('ghost'), 'the invisible user sees themself');
    assert.ok(own.members.get('observer'), 'and sees the others');
    const late = clients.pusher({ auth, user: { id: 'late' } });
    const lateChannel = late.subscribe('presence-haunted');
    await subscribed(lateChannel);
    assert.equal(lateChannel.members.get('ghost'), null, 'not in a later joiner\'s list');
    assert.equal(lateChannel.members.count, 2);
    const users = await (await rest.get({ path: '/channels/presence-haunted/users' })).json();
    assert.deepEqual(users.users.map((u) => u.id).sort(), ['late', 'observer']);

    // Becoming visible while present: the others see them arrive; then invisible again: leave.
    await setPrivacy('ghost', { visibility: 'everyone' });
    await waitFor(() => added.includes('ghost'), 5000, 'member_added for ghost');
    await waitFor(() => seen.some((e) => e[0] === 'online' && e.includes('ghost')), 5000, 'watcher told online');
    const removed = [];
    observed.bind('pusher:member_removed', (m) => removed.push(m.id));
    await setPrivacy('ghost', { visibility: 'nobody' });
    await waitFor(() => removed.includes('ghost'), 5000, 'member_removed for ghost');
    await waitFor(() => seen.some((e) => e[0] === 'offline' && e.includes('ghost')), 5000, 'watcher told offline');
    assert.ok(own.members.get('ghost'), 'the invisible user\'s own list still holds them');
    assert.ok(!added.slice(0, added.indexOf('ghost')).includes('ghost'));
  });

  test('greendot:status away/online reaches the other members as greendot:member_updated', { timeout: 15000 }, async () => {
    const observer = clients.pusher({ auth, user: { id: 's-observer' } });
    const channel = observer.subscribe('presence-status');
    await subscribed(channel);
    const updates = [];
    channel.bind('greendot:member_updated', (d) => updates.push(d));
    const c = await clients.raw({ app });
    const channelData = JSON.stringify({ user_id: 's-user' });
    const { presenceAuth } = await import('./lib/clients.mjs');
    const answer = await c.subscribe('presence-status', { auth: presenceAuth(app, c.socketId, 'presence-status', channelData), channel_data: channelData });
    assert.equal(answer.event, 'pusher_internal:subscription_succeeded');
    c.send({ event: 'greendot:status', data: { status: 'away' } });
    await waitFor(() => updates.some((u) => u.user_id === 's-user' && u.status === 'away'), 5000, 'away');
    const presence = await (await rest.post({ path: '/users/presence', body: { users: ['s-user'] } })).json();
    assert.equal(presence.users['s-user'].status, 'away');
    c.send({ event: 'greendot:status', data: { status: 'online' } });
    await waitFor(() => updates.some((u) => u.user_id === 's-user' && u.status === 'online'), 5000, 'online');
    c.send({ event: 'greendot:status', data: { status: 'sleeping' } });
    const error = await c.next((m) => m.event === 'pusher:error', 5000);
    assert.match(dataOf(error).message, /online.*away/);
  });
});
