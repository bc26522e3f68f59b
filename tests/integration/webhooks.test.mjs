// Webhooks: a real HTTP receiver checks each request's signature and body, sees batching,
// presence member events from pusher-js clients, the offline grace, retries after a 500, the
// event-type filter per target, client events, and the flush at shutdown.
//
// lib/server.mjs's TOML writer cannot express [[apps.webhooks]] tables, so this file writes its
// own config and starts the binary itself (same binary, same /health wait), reusing the rest of
// lib/ as is.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { binaryPath, freePort, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed, waitFor, sleep, hmac, connected } from './lib/clients.mjs';

const EVENT_TYPES = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event'];

// ---------------------------------------------------------------------------------------------
// Config and server

function tomlValue(v) {
  if (typeof v === 'string') return JSON.stringify(v); // TOML basic strings use JSON's escapes
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Number.isInteger(v)) return String(v);
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  throw new Error(`TOML writer: unsupported value ${JSON.stringify(v)}`);
}

function tomlTable(header, entries) {
  const lines = [header];
  for (const [k, v] of Object.entries(entries)) lines.push(`${k} = ${tomlValue(v)}`);
  return lines.join('\n');
}

/** `apps[i].webhooks` becomes that app's [[apps.webhooks]] tables. */
export function webhookToml({ server, apps }) {
  const parts = [tomlTable('[server]', server)];
  for (const { webhooks = [], ...app } of apps) {
    parts.push(tomlTable('[[apps]]', app));
    for (const target of webhooks) parts.push(tomlTable('[[apps.webhooks]]', target));
  }
  return parts.join('\n\n') + '\n';
}

function healthStatus(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREENDOT_')) env[k] = v;
  return env;
}

/** Runs greendot with `apps` (entries may carry `webhooks: [{url, event_types}]`). */
function spawnGreendot(apps, port) {
  const server = {
    host: '127.0.0.1',
    port,
    log_level: process.env.GREENDOT_TEST_LOG_LEVEL || 'info',
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-webhooks-'));
  const configPath = path.join(dir, 'greendot.toml');
  fs.writeFileSync(configPath, webhookToml({ server, apps }));
  const child = spawn(binaryPath, ['--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => fs.rmSync(dir, { recursive: true, force: true }));
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  return { child, exited, logs: () => `--- greendot output ---\n${output.slice(-6000)}` };
}

async function startGreendot(apps) {
  if (!fs.existsSync(binaryPath)) throw new Error(`greendot binary not found at ${binaryPath} (build it or set GREENDOT_BIN)`);
  const port = await freePort();
  const run = spawnGreendot(apps, port);
  let exitInfo = null;
  run.exited.then((info) => (exitInfo = info));
  const deadline = Date.now() + 10000;
  while ((await healthStatus(port)) !== 200) {
    if (exitInfo) throw new Error(`greendot exited during start-up (code ${exitInfo.code})\n${run.logs()}`);
    if (Date.now() > deadline) {
      run.child.kill('SIGKILL');
      throw new Error(`greendot did not answer /health within 10 s\n${run.logs()}`);
    }
    await sleep(50);
  }
  return {
    port,
    host: '127.0.0.1',
    apps,
    app: (i = 0) => apps[i],
    wsUrl: (key = apps[0].key, query = '?protocol=7&client=js&version=8.6.0&flash=false') =>
      `ws://127.0.0.1:${port}/app/${key}${query}`,
    logs: run.logs,
    async stop() {
      if (exitInfo) return exitInfo.code;
      run.child.kill('SIGTERM');
      const t = setTimeout(() => run.child.kill('SIGKILL'), 10000);
      const info = await run.exited;
      clearTimeout(t);
      return info.code;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The receiver

/**
 * An HTTP server that records every request. `respond(path, n)` gives the status of the n-th
 * (0-based) request to `path`; default 200.
 */
async function startReceiver() {
  const state = {
    requests: [],
    respond: () => 200,
    counts: {},
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const n = (state.counts[req.url] = (state.counts[req.url] ?? 0) + 1) - 1;
      let body = null;
      try {
        body = JSON.parse(raw);
      } catch {
        // recorded as null; the assertions say so
      }
      const status = state.respond(req.url, n);
      state.requests.push({ path: req.url, method: req.method, headers: req.headers, raw, body, status, at: Date.now() });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return Object.assign(state, {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    to: (p) => state.requests.filter((r) => r.path === p),
    /** Every event delivered (2xx) to `p`, in order, each with the request it came in. */
    events: (p) =>
      state.requests
        .filter((r) => r.path === p && r.status === 200 && r.body)
        .flatMap((r) => r.body.events.map((e) => ({ ...e, request: r }))),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  });
}

/** Everything Pusher promises about one webhook request, checked against `app`. */
function assertWellFormed(request, app) {
  const where = `${request.path}: ${request.raw}`;
  assert.equal(request.method, 'POST', where);
  assert.match(request.headers['content-type'], /^application\/json/, where);
  assert.equal(request.headers['x-pusher-key'], app.key, where);
  assert.equal(request.headers['x-pusher-signature'], hmac(app.secret, request.raw), `signature of ${where}`);
  assert.ok(request.body, `body is JSON: ${where}`);
  assert.deepEqual(Object.keys(request.body).sort(), ['events', 'time_ms'], where);
  assert.ok(Number.isInteger(request.body.time_ms), where);
  assert.ok(Math.abs(request.body.time_ms - request.at) < 60000, `time_ms is unix milliseconds: ${where}`);
  assert.ok(Array.isArray(request.body.events) && request.body.events.length > 0, where);
  for (const event of request.body.events) {
    assert.ok(EVENT_TYPES.includes(event.name), `event name ${event.name}`);
    assert.equal(typeof event.channel, 'string', where);
  }
}

/** The events without the request they came in, to compare with deepEqual. */
const bare = (events) => events.map(({ request, ...e }) => e);

// ---------------------------------------------------------------------------------------------

describe('webhooks', () => {
  let receiver;
  let server;
  let clients;
  let auth;
  let graceAuth;
  let flakyAuth;

  const GRACE_MS = 1000;
  // The window is wide enough that what one client action causes arrives in one request.
  const main = makeApp({ offline_grace_ms: 0, webhook_batch_ms: 200 });
  const grace = makeApp({ offline_grace_ms: GRACE_MS, webhook_batch_ms: 50 });
  const flaky = makeApp({ offline_grace_ms: 0, webhook_batch_ms: 100, webhook_retry_seconds: 30 });
  const noHooks = makeApp({ offline_grace_ms: 0 });

  before(async () => {
    receiver = await startReceiver();
    main.webhooks = [
      { url: receiver.url('/all?app=main') },
      { url: receiver.url('/members'), event_types: ['member_added', 'member_removed'] },
    ];
    grace.webhooks = [{ url: receiver.url('/grace'), event_types: EVENT_TYPES }];
    flaky.webhooks = [{ url: receiver.url('/flaky') }];
    // The first two attempts of the first batch fail.
    receiver.respond = (p, n) => (p === '/flaky' && n < 2 ? 500 : 200);
    server = await startGreendot([main, grace, flaky, noHooks]);
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
    graceAuth = await startAuthEndpoint(grace);
    flakyAuth = await startAuthEndpoint(flaky);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await Promise.all([auth?.close(), graceAuth?.close(), flakyAuth?.close()]);
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
    await receiver?.close();
  });

  const presenceUser = (app, authEndpoint, id) => ({ app, auth: authEndpoint, user: { id, info: { id, name: `User ${id}` } } });

  test('pusher-js presence clients: signed, batched channel and member events, in order', { timeout: 20000 }, async () => {
    const channel = 'presence-room.1';
    const users = [1, 2, 3].map((id) => clients.pusher(presenceUser(main, auth, id)));
    await Promise.all(users.map((p) => subscribed(p.subscribe(channel))));

    await waitFor(
      () => receiver.events('/all?app=main').filter((e) => e.name === 'member_added').length === 3,
      5000,
      'three member_added webhooks',
    );
    for (const request of receiver.to('/all?app=main')) assertWellFormed(request, main);
    const joined = bare(receiver.events('/all?app=main'));
    assert.deepEqual(joined[0], { name: 'channel_occupied', channel }, 'the channel is occupied before anyone is added');
    assert.deepEqual(
      joined.slice(1).sort((a, b) => a.user_id.localeCompare(b.user_id)),
      ['1', '2', '3'].map((user_id) => ({ name: 'member_added', channel, user_id })),
    );
    // channel_occupied and the first member_added happen together: one request holds both.
    assert.ok(
      receiver.to('/all?app=main').some((r) => r.body.events.length >= 2),
      `some request carries several events: ${receiver.to('/all?app=main').map((r) => r.raw).join('\n')}`,
    );

    for (const p of users) p.disconnect();
    await waitFor(
      () => {
        const events = receiver.events('/all?app=main');
        return events.some((e) => e.name === 'channel_vacated') && events.filter((e) => e.name === 'member_removed').length === 3;
      },
      5000,
      'channel_vacated and three member_removed webhooks',
    );
    for (const request of receiver.to('/all?app=main')) assertWellFormed(request, main);
    const all = bare(receiver.events('/all?app=main'));
    const left = all.slice(4);
    assert.deepEqual(
      left.filter((e) => e.name === 'member_removed').sort((a, b) => a.user_id.localeCompare(b.user_id)),
      ['1', '2', '3'].map((user_id) => ({ name: 'member_removed', channel, user_id })),
    );
    assert.deepEqual(left.filter((e) => e.name === 'channel_vacated'), [{ name: 'channel_vacated', channel }]);
    assert.equal(all.length, 8, JSON.stringify(all));

    // The second target asked for member events only, and got all of them, in the same order.
    await waitFor(() => receiver.events('/members').length === 6, 5000, 'member events at /members');
    for (const request of receiver.to('/members')) assertWellFormed(request, main);
    assert.deepEqual(
      bare(receiver.events('/members')),
      all.filter((e) => e.name === 'member_added' || e.name === 'member_removed'),
    );
  });

  test('no member_removed (nor member_added again) when a user returns inside the offline grace', { timeout: 20000 }, async () => {
    const channel = 'presence-reload';
    const observer = clients.pusher(presenceUser(grace, graceAuth, 'observer'));
    await subscribed(observer.subscribe(channel));
    const first = clients.pusher(presenceUser(grace, graceAuth, 7));
    await subscribed(first.subscribe(channel));
    const of7 = () => receiver.events('/grace').filter((e) => e.user_id === '7').map((e) => e.name);
    await waitFor(() => of7().length === 1, 5000, 'member_added 7');
    assert.deepEqual(of7(), ['member_added']);

    // A reload: the old connection goes, a new one joins straight after.
    const leftAt = Date.now();
    first.disconnect();
    const second = clients.pusher(presenceUser(grace, graceAuth, 7));
    await subscribed(second.subscribe(channel));
    assert.ok(Date.now() - leftAt < GRACE_MS, 'the test rejoined inside the grace');
    // A user who joins and leaves after the reload: once its member_removed has come, the grace
    // of 7's first connection, due earlier, has ended too, and its member_removed would have
    // come first (one target's events are delivered in order).
    const witness = clients.pusher(presenceUser(grace, graceAuth, 'witness'));
    await subscribed(witness.subscribe(channel));
    witness.disconnect();
    await waitFor(
      () => receiver.events('/grace').some((e) => e.user_id === 'witness' && e.name === 'member_removed'),
      GRACE_MS + 5000,
      'member_removed witness',
    );
    assert.deepEqual(of7(), ['member_added'], 'a reload inside the grace is invisible to webhooks');

    // Really gone: member_removed after the grace.
    const goneAt = Date.now();
    second.disconnect();
    await waitFor(() => of7().length === 2, GRACE_MS + 5000, 'member_removed 7');
    assert.deepEqual(of7(), ['member_added', 'member_removed']);
    const removed = receiver.events('/grace').find((e) => e.user_id === '7' && e.name === 'member_removed');
    assert.ok(removed.request.at - goneAt >= GRACE_MS - 100, `member_removed waited for the grace (${removed.request.at - goneAt} ms)`);
    for (const request of receiver.to('/grace')) assertWellFormed(request, grace);
  });

  test('a receiver answering 500 gets the same batch again after 1 s, then 2 s, until it succeeds', { timeout: 20000 }, async () => {
    const p = clients.pusher(presenceUser(flaky, flakyAuth, 'r'));
    await subscribed(p.subscribe('presence-retry'));
    await waitFor(
      () => receiver.events('/flaky').some((e) => e.name === 'member_added'),
      10000,
      'member_added delivered to /flaky',
    );
    const [a, b, c] = receiver.to('/flaky');
    assert.deepEqual([a.status, b.status, c.status], [500, 500, 200]);
    for (const r of [a, b, c]) assertWellFormed(r, flaky);
    // A retry is the same request: same body bytes (time_ms included) and signature.
    assert.equal(b.raw, a.raw);
    assert.equal(c.raw, a.raw);
    assert.equal(c.headers['x-pusher-signature'], a.headers['x-pusher-signature']);
    assert.ok(b.at - a.at >= 900 && b.at - a.at < 2000, `first retry after ~1 s, was ${b.at - a.at} ms`);
    assert.ok(c.at - b.at >= 1900 && c.at - b.at < 3500, `second retry after ~2 s, was ${c.at - b.at} ms`);
    assert.deepEqual(bare(receiver.events('/flaky')), [
      { name: 'channel_occupied', channel: 'presence-retry' },
      { name: 'member_added', channel: 'presence-retry', user_id: 'r' },
    ]);

    // Delivered means done: no further attempt. The next event goes out on its own.
    p.disconnect();
    await waitFor(() => receiver.events('/flaky').some((e) => e.name === 'channel_vacated'), 5000, 'channel_vacated at /flaky');
    assert.equal(receiver.to('/flaky').filter((r) => r.raw === a.raw).length, 3);
  });

  test('client events are reported with event, data, socket_id, and user_id on presence channels', { timeout: 15000 }, async () => {
    const sender = clients.pusher(presenceUser(main, auth, 'typist'));
    const socketId = await connected(sender);
    const priv = sender.subscribe('private-doc.9');
    const pres = sender.subscribe('presence-doc.9');
    await Promise.all([subscribed(priv), subscribed(pres)]);
    priv.trigger('client-typing', { who: 'typist', n: 1 });
    pres.trigger('client-typing', { who: 'typist', n: 2 });
    const clientEvents = () => receiver.events('/all?app=main').filter((e) => e.name === 'client_event');
    await waitFor(() => clientEvents().length === 2, 5000, 'two client_event webhooks');
    const [onPrivate, onPresence] = bare(clientEvents());
    assert.deepEqual({ ...onPrivate, data: JSON.parse(onPrivate.data) }, {
      name: 'client_event',
      channel: 'private-doc.9',
      event: 'client-typing',
      data: { who: 'typist', n: 1 },
      socket_id: socketId,
    });
    assert.equal(typeof onPresence.data, 'string', 'data is a JSON string');
    assert.deepEqual({ ...onPresence, data: JSON.parse(onPresence.data) }, {
      name: 'client_event',
      channel: 'presence-doc.9',
      event: 'client-typing',
      data: { who: 'typist', n: 2 },
      socket_id: socketId,
      user_id: 'typist',
    });
    // The members-only target was not told.
    assert.ok(!receiver.events('/members').some((e) => e.name === 'client_event'));
  });

  test('an app without webhooks sends nothing', { timeout: 10000 }, async () => {
    const raw = await clients.raw({ app: noHooks });
    await raw.subscribe('quiet-channel');
    raw.unsubscribe('quiet-channel');
    // This app has no target to send a later event through as a barrier, and other targets'
    // deliveries are not ordered with its events: only a window can show that nothing comes.
    await sleep(500);
    // Other tests' stragglers may still arrive; none may be about this app's channel.
    assert.deepEqual(
      receiver.requests.filter((r) => r.raw.includes('quiet-channel')),
      [],
    );
  });
});

describe('webhooks at start and shutdown', () => {
  test('an https webhook URL stops greendot at start with a clear message', { timeout: 10000 }, async () => {
    const app = makeApp({ webhooks: [{ url: 'https://hooks.example.com/pusher' }] });
    const run = spawnGreendot([app], await freePort());
    const { code } = await run.exited;
    assert.equal(code, 2, run.logs());
    assert.match(run.logs(), /apps\[0\]\.webhooks\[0\]\.url: https webhooks are not supported yet; put a local proxy in front/);
  });

  test('an unknown event type stops greendot at start, naming it and the valid ones', { timeout: 10000 }, async () => {
    const app = makeApp({ webhooks: [{ url: 'http://127.0.0.1:1/', event_types: ['member_joined'] }] });
    const run = spawnGreendot([app], await freePort());
    const { code } = await run.exited;
    assert.equal(code, 2, run.logs());
    assert.match(run.logs(), /unknown event type "member_joined"; valid ones are channel_occupied, channel_vacated, member_added, member_removed, client_event/);
  });

  test('events still waiting for their batch window are sent when greendot stops', { timeout: 20000 }, async () => {
    const receiver = await startReceiver();
    // A window far longer than the test: only the shutdown flush can send these events.
    const app = makeApp({ offline_grace_ms: 0, webhook_batch_ms: 60000, webhooks: [{ url: receiver.url('/late') }] });
    const server = await startGreendot([app]);
    const clients = new Clients(server);
    try {
      const raw = await clients.raw({ app });
      await raw.subscribe('flushed-channel');
      // Nothing must come before the window ends, and no other target's deliveries are ordered
      // with this one's: only a window can show that nothing is sent early.
      await sleep(300);
      assert.equal(receiver.to('/late').length, 0, 'nothing is sent before the window ends');
      const stoppedAt = Date.now();
      assert.equal(await server.stop(), 0, server.logs());
      assert.ok(Date.now() - stoppedAt < 8000, 'the flush is bounded');
      const events = bare(receiver.events('/late'));
      assert.deepEqual(events[0], { name: 'channel_occupied', channel: 'flushed-channel' }, server.logs());
      for (const request of receiver.to('/late')) assertWellFormed(request, app);
    } finally {
      await clients.closeAll();
      await server.stop();
      await receiver.close();
    }
  });

  test('at SIGTERM the application hears that everyone left, even inside a long grace', { timeout: 20000 }, async () => {
    const receiver = await startReceiver();
    // A grace far longer than the test: only the shutdown can end these sessions.
    const app = makeApp({ offline_grace_ms: 60000, webhook_batch_ms: 50, webhooks: [{ url: receiver.url('/bye') }] });
    const server = await startGreendot([app]);
    const clients = new Clients(server);
    const appAuth = await startAuthEndpoint(app);
    try {
      const members = ['b1', 'b2'].map((id) => clients.pusher({ app, auth: appAuth, user: { id, info: { id } } }));
      await Promise.all(members.map((p) => subscribed(p.subscribe('presence-bye'))));
      const raw = await clients.raw({ app });
      await raw.subscribe('plain-bye');
      await waitFor(() => bare(receiver.events('/bye')).filter((e) => e.name === 'member_added').length === 2, 5000, 'member_added x2');
      assert.equal(await server.stop(), 0, server.logs());
      const events = bare(receiver.events('/bye'));
      const after = events.slice(events.findIndex((e) => e.name === 'channel_occupied' && e.channel === 'plain-bye') + 1);
      const removed = after.filter((e) => e.name === 'member_removed').map((e) => e.user_id).sort();
      assert.deepEqual(removed, ['b1', 'b2'], `member_removed for each member: ${JSON.stringify(events)}`);
      const vacated = after.filter((e) => e.name === 'channel_vacated').map((e) => e.channel).sort();
      assert.deepEqual(vacated, ['plain-bye', 'presence-bye'], `channel_vacated for each channel: ${JSON.stringify(events)}`);
      for (const request of receiver.to('/bye')) assertWellFormed(request, app);
    } finally {
      await clients.closeAll();
      await appAuth.close();
      await server.stop();
      await receiver.close();
    }
  });
});
