// User tokens are scoped: a token opens the contexts its `contexts` claim lists and nothing
// else, is made for one app (`aud`), lives no longer than the app's max_token_lifetime_s, and is
// read from the Authorization header except where a browser cannot send one. The README's
// minting snippets (Node.js and PHP) are run here and their tokens used against the server.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EventSource } from 'eventsource';
import { startServer, makeApp, repoRoot } from './lib/server.mjs';
import { userToken, signedRaw } from './lib/signing.mjs';
import { httpRequest, waitFor } from './lib/clients.mjs';

const nowSeconds = () => Math.floor(Date.now() / 1000);

function parseOrNull(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

async function call(server, app, method, subPath, { token, body, headers = {} } = {}) {
  const res = await httpRequest(server.httpUrl(`/apps/${app.id}${subPath}`), {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { ...res, json: parseOrNull(res.body) };
}

const ping = (server, app, token, contexts) => call(server, app, 'POST', '/client/ping', { token, body: contexts ? { contexts } : {} });

function expectStatus(res, status, label) {
  assert.equal(res.status, status, `${label}: ${status} expected, got ${res.status} ${res.body}`);
  if (status >= 400) {
    assert.deepEqual(Object.keys(res.json ?? {}), ['error'], `${label}: {"error"} body`);
  }
  return res.json;
}

/** The code block that follows `<!-- token-snippet:NAME -->` in the README. */
function readmeSnippet(name) {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const marker = `<!-- token-snippet:${name} -->`;
  const at = readme.indexOf(marker);
  assert.ok(at >= 0, `README has ${marker}`);
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(match, `a code block after ${marker}`);
  return match[1];
}

describe('user token scope', () => {
  let server;
  const main = makeApp({ offline_grace_ms: 0 });
  const other = makeApp({ offline_grace_ms: 0, secret: main.secret }); // shares the secret
  const long = makeApp({ offline_grace_ms: 0, max_token_lifetime_s: 86400 });
  const streams = [];
  let tmp;

  before(async () => {
    server = await startServer({ apps: [main, other, long] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-tokens-'));
  });
  afterEach(() => {
    for (const es of streams.splice(0)) es.close();
  });
  after(async () => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  const members = async (app, context) => {
    const res = await signedRaw(server, app, 'GET', `/channels/presence-${context}/users`);
    return res.json.users.map((u) => u.id).sort();
  };

  test('a token opens the contexts it names, prefixes ending in *, and nothing else', { timeout: 15000 }, async () => {
    const token = userToken(main, 'scoped', { contexts: ['room.1', 'team.*'] });
    expectStatus(await ping(server, main, token, ['room.1']), 200, 'a named context');
    expectStatus(await ping(server, main, token, ['team.a', 'team.b.c']), 200, 'under a prefix');
    const refused = expectStatus(await ping(server, main, token, ['room.2']), 403, 'another context');
    assert.match(refused.error, /room\.2/, 'the refusal names the context');
    expectStatus(await ping(server, main, token, ['room.1', 'room.2']), 403, 'one context outside the scope');
    expectStatus(await ping(server, main, token, ['teamx']), 403, 'the prefix without its dot');
    expectStatus(await ping(server, main, token), 403, 'the default context (global) is not listed');
    assert.deepEqual(await members(main, 'room.1'), ['scoped']);
    assert.deepEqual(await members(main, 'room.2'), [], 'the refused ping joined nothing');

    expectStatus(await call(server, main, 'POST', '/client/offline', { token, body: { context: 'room.2' } }), 403, 'offline outside the scope');
    expectStatus(await call(server, main, 'POST', '/client/offline', { token, body: { context: 'room.1' } }), 200, 'offline inside it');
    await waitFor(async () => (await members(main, 'room.1')).length === 0, 5000, 'room.1 left');
  });

  test('a token without a contexts claim opens none; "*" opens every context', { timeout: 10000 }, async () => {
    const none = userToken(main, 'no-scope', { contexts: null });
    expectStatus(await ping(server, main, none, ['anything']), 403, 'no contexts claim');
    expectStatus(await ping(server, main, userToken(main, 'empty-scope', { contexts: [] }), ['anything']), 403, 'empty contexts');
    expectStatus(await ping(server, main, userToken(main, 'all', { contexts: ['*'] }), ['anything']), 200, '"*"');
    expectStatus(await ping(server, main, userToken(main, 'bad', { contexts: 'room.1' }), ['room.1']), 401, 'contexts not an array');
    expectStatus(await ping(server, main, userToken(main, 'bad', { contexts: [7] }), ['room.1']), 401, 'contexts holding a number');
    // The status query needs a valid token but no context.
    expectStatus(await call(server, main, 'GET', '/client/users?ids=all', { token: none }), 200, 'users with an unscoped token');
  });

  test('the SSE stream of a context the token does not open is refused, so its events cannot be read', { timeout: 15000 }, async () => {
    const token = userToken(main, 'watcher', { contexts: ['lobby'] });
    const refused = await httpRequest(server.httpUrl(`/apps/${main.id}/client/stream?context=secret.room&token=${token}`));
    expectStatus({ ...refused, json: parseOrNull(refused.body) }, 403, 'stream outside the scope');

    // Inside the scope the stream works, and events the backend triggers reach it.
    const es = new EventSource(server.httpUrl(`/apps/${main.id}/client/stream?context=lobby&token=${token}`));
    streams.push(es);
    const seen = [];
    es.addEventListener('snapshot', () => seen.push('snapshot'));
    es.addEventListener('news', (e) => seen.push(JSON.parse(e.data)));
    await waitFor(() => seen.includes('snapshot'), 5000, 'the snapshot');
    await signedRaw(server, main, 'POST', '/events', JSON.stringify({ name: 'news', channel: 'presence-lobby', data: '"hello"' }));
    await waitFor(() => seen.includes('hello'), 5000, 'the triggered event');
  });

  test('aud must name the app: missing, another app, or an array without it is refused', { timeout: 10000 }, async () => {
    expectStatus(await ping(server, main, userToken(main, 'u', { aud: null }), ['x']), 401, 'no aud');
    // Same secret, another app: the token must not cross over.
    const forOther = userToken(other, 'u');
    expectStatus(await ping(server, main, forOther, ['x']), 401, "another app's token");
    expectStatus(await ping(server, other, forOther, ['x']), 200, 'its own app');
    expectStatus(await ping(server, main, userToken(main, 'u', { aud: [other.id, main.id] }), ['x']), 200, 'an array holding the app');
    expectStatus(await ping(server, main, userToken(main, 'u', { aud: [other.id] }), ['x']), 401, 'an array without it');
  });

  test('a token may live at most max_token_lifetime_s (default one hour)', { timeout: 10000 }, async () => {
    const refused = expectStatus(await ping(server, main, userToken(main, 'u', { exp: nowSeconds() + 10 * 365 * 86400 }), ['x']), 401, 'valid for years');
    assert.match(refused.error, /max_token_lifetime_s/);
    expectStatus(await ping(server, main, userToken(main, 'u', { exp: nowSeconds() + 7200 }), ['x']), 401, 'two hours');
    expectStatus(await ping(server, main, userToken(main, 'u', { exp: nowSeconds() + 3000 }), ['x']), 200, 'under an hour');
    expectStatus(await ping(server, long, userToken(long, 'u', { exp: nowSeconds() + 7200 }), ['x']), 200, 'an app that allows a day');
    // iat bounds the lifetime too, and cannot be in the future.
    const now = nowSeconds();
    expectStatus(await ping(server, main, userToken(main, 'u', { exp: now + 600, extra: { iat: now - 86400 } }), ['x']), 401, 'exp - iat too long');
    expectStatus(await ping(server, main, userToken(main, 'u', { exp: now + 600, extra: { iat: now + 3600 } }), ['x']), 401, 'iat in the future');
    expectStatus(await ping(server, main, userToken(main, 'u', { exp: now + 600, extra: { iat: now } }), ['x']), 200, 'a sound iat');
  });

  test('the token belongs in the Authorization header; only the stream and the beacon take it elsewhere', { timeout: 10000 }, async () => {
    const token = userToken(main, 'placed', { contexts: ['place'] });
    const inQuery = await httpRequest(server.httpUrl(`/apps/${main.id}/client/ping?token=${token}`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contexts: ['place'] }),
    });
    const error = expectStatus({ ...inQuery, json: parseOrNull(inQuery.body) }, 400, 'ping with ?token=');
    assert.match(error.error, /Authorization/);
    expectStatus(await call(server, main, 'POST', '/client/ping', { headers: { authorization: token }, body: { contexts: ['place'] } }), 401, 'Authorization without Bearer');
    // sendBeacon: the token is the text/plain body.
    expectStatus(await ping(server, main, token, ['place']), 200, 'ping with the header');
    const beacon = await httpRequest(server.httpUrl(`/apps/${main.id}/client/offline`), { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: token });
    assert.equal(beacon.status, 200, beacon.body);
  });

  test("the README's Node.js snippet mints a token greendot accepts", { timeout: 15000 }, async () => {
    const file = path.join(tmp, 'mint.mjs');
    fs.writeFileSync(file, readmeSnippet('js'));
    const { greendotToken } = await import(pathToFileURL(file).href);
    const token = greendotToken({ appId: main.id, secret: main.secret, userId: 42, contexts: ['docs.*'], userInfo: { name: 'Ada' } });
    expectStatus(await ping(server, main, token, ['docs.js']), 200, 'the snippet token');
    expectStatus(await ping(server, main, token, ['elsewhere']), 403, 'outside its contexts');
    assert.deepEqual(await members(main, 'docs.js'), ['42']);
  });

  test("the README's PHP snippet mints a token greendot accepts (php-cli)", { timeout: 15000 }, async () => {
    const file = path.join(tmp, 'mint.php');
    const call = `\necho greendot_token(${JSON.stringify(main.id)}, ${JSON.stringify(main.secret)}, '7', ['docs.php'], ['name' => 'Grace']);\n`;
    fs.writeFileSync(file, readmeSnippet('php') + call);
    const token = execFileSync('php', [file], { encoding: 'utf8' }).trim();
    expectStatus(await ping(server, main, token, ['docs.php']), 200, 'the PHP token');
    expectStatus(await ping(server, main, token, ['docs.other']), 403, 'outside its contexts');
    const users = await signedRaw(server, main, 'POST', '/users/presence', JSON.stringify({ users: ['7'] }));
    assert.equal(users.json.users['7'].online, true);
  });
});
