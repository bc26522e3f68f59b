// What a new developer meets first: the development config of `make run`, and an app given by
// environment alone, called from a page served by a dev server on another port.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, repoRoot } from './lib/server.mjs';
import { userToken } from './lib/signing.mjs';
import { httpRequest } from './lib/clients.mjs';

// Vite's default port: a page there calls greendot on 6001, another origin.
const DEV_PAGE = 'http://localhost:5173';

function pagePing(server, app, user) {
  return httpRequest(server.httpUrl(`/apps/${app.id}/client/ping`), {
    method: 'POST',
    headers: { origin: DEV_PAGE, authorization: `Bearer ${userToken(app, user)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ contexts: ['chat.42'] }),
  });
}

describe('a page on a dev server calling greendot', () => {
  const servers = [];
  after(async () => {
    for (const server of servers) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  test('with the development config (config/greendot.dev.toml): the cross-origin ping is answered', { timeout: 15000 }, async () => {
    const devApp = { id: 'dev-app', key: 'dev-key', secret: 'dev-secret' };
    const server = await startServer({ configFile: path.join(repoRoot, 'config', 'greendot.dev.toml'), apps: [devApp] });
    servers.push(server);
    const res = await pagePing(server, devApp, 'newcomer');
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['access-control-allow-origin'], DEV_PAGE);
  });

  test('with an app given by environment alone, its allowed origins and limits from the environment', { timeout: 15000 }, async () => {
    const envApp = { id: 'env-app', key: 'env-key', secret: 'env-secret' };
    const server = await startServer({
      apps: [],
      env: {
        GREENDOT_APP_ID: envApp.id,
        GREENDOT_APP_KEY: envApp.key,
        GREENDOT_APP_SECRET: envApp.secret,
        GREENDOT_APP_ALLOWED_ORIGINS: `https://app.example, ${DEV_PAGE}`,
        GREENDOT_APP_MAX_PRESENCE_MEMBERS: '1',
      },
    });
    servers.push(server);
    const first = await pagePing(server, envApp, 'first');
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['access-control-allow-origin'], DEV_PAGE);
    assert.deepEqual(JSON.parse(first.body).contexts, { 'chat.42': 'present' });
    // max_presence_members 1: the second user finds the context full.
    const second = await pagePing(server, envApp, 'second');
    assert.equal(second.status, 200, second.body);
    assert.deepEqual(JSON.parse(second.body).contexts, { 'chat.42': 'full' });
  });
});
