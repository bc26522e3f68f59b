// Shutdown: SIGTERM/SIGINT close every connection with 4200 and the process exits 0.

import { describe, test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed, waitFor, withTimeout } from './lib/clients.mjs';
import { expectErrorThenClose, assertSucceededPlain, assertSucceededPresence } from './lib/expect.mjs';

describe('shutdown', () => {
  const cleanups = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  async function setup() {
    const app = makeApp({ offline_grace_ms: 0 });
    const server = await startServer({ apps: [app] });
    const clients = new Clients(server);
    const auth = await startAuthEndpoint(app);
    cleanups.push(() => server.kill());
    cleanups.push(() => auth.close());
    cleanups.push(() => clients.closeAll());
    return { app, server, clients, auth };
  }

  for (const signal of ['SIGTERM', 'SIGINT']) {
    test(`${signal}: raw clients get pusher:error + close 4200, pusher-js sees it, exit code 0`, { timeout: 20000 }, async () => {
      const { app, server, clients, auth } = await setup();
      const raws = [];
      for (let i = 0; i < 3; i++) raws.push(await clients.raw());
      assertSucceededPlain(await raws[0].subscribe('news'), 'news');
      assertSucceededPlain(await raws[1].subscribePrivate(app, 'private-x'), 'private-x');
      assertSucceededPresence(await raws[2].subscribePresence(app, 'presence-x', 'r', {}), 'presence-x');

      const p = clients.pusher({ auth, user: { id: 'js' } });
      const errors = [];
      const states = [];
      p.connection.bind('error', (e) => errors.push(e));
      await subscribed(p.subscribe('presence-x'));
      p.connection.bind('state_change', ({ current }) => states.push(current));

      const exit = server.stop(signal, 15000);
      for (const c of raws) await expectErrorThenClose(c, 4200, undefined, 10000);
      const codeOf = (e) => e?.data?.code ?? e?.error?.data?.code;
      await waitFor(() => errors.some((e) => codeOf(e) === 4200), 10000, 'pusher-js error 4200');
      await waitFor(() => states.length > 0, 5000, 'pusher-js to leave the connected state');
      assert.notEqual(states[0], 'connected');
      // 4200 means "reconnect immediately": pusher-js goes straight back to connecting.
      assert.equal(states[0], 'connecting');
      const code = await withTimeout(exit, 15000, `greendot to exit after ${signal}`);
      assert.equal(code, 0, `exit code after ${signal}\n${server.logs()}`);
      assert.equal(server.exitInfo.signal, null, 'exited by itself, not killed by the signal');
    });
  }

  test('SIGTERM with no connections exits 0', { timeout: 20000 }, async () => {
    const { server } = await setup();
    const code = await withTimeout(server.stop('SIGTERM', 15000), 15000, 'greendot to exit');
    assert.equal(code, 0, server.logs());
  });
});
