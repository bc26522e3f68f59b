// The real greendot binary for browser tests, on a port of its own that survives a restart
// (a page's reconnect finds the server again where it was).
//
//   const gd = await startGreendot({ apps: [app], web: { demo_app: app.id } });
//   gd.url('/greendot.js'); await gd.restart(); await gd.stop();

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const binaryPath = path.resolve(process.env.GREENDOT_BIN ?? path.join(repoRoot, 'build', 'greendot'));

export function makeApp(overrides = {}) {
  return {
    id: `app-${crypto.randomBytes(3).toString('hex')}`,
    key: crypto.randomBytes(10).toString('hex'),
    secret: crypto.randomBytes(10).toString('hex'),
    offline_grace_ms: 1000,
    ...overrides,
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const toml = (v) => (Array.isArray(v) ? `[${v.map(toml).join(', ')}]` : typeof v === 'string' ? JSON.stringify(v) : String(v));
const table = (header, entries) => [header, ...Object.entries(entries).map(([k, v]) => `${k} = ${toml(v)}`), ''].join('\n');

function get(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Starts greendot with `apps`, `web` ([web] keys) and `server` ([server] overrides). */
export async function startGreendot({ apps, web = {}, server = {} }) {
  if (!fs.existsSync(binaryPath)) throw new Error(`greendot not found at ${binaryPath}: build it or set GREENDOT_BIN`);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-browser-'));
  const configPath = path.join(dir, 'greendot.toml');
  const serverTable = { host: '127.0.0.1', port, data_dir: path.join(dir, 'data'), log_level: process.env.GREENDOT_TEST_LOG_LEVEL ?? 'warn', ...server };
  fs.writeFileSync(configPath, [table('[server]', serverTable), table('[web]', web), ...apps.map((a) => table('[[apps]]', a))].join('\n'));

  let child = null;
  let output = '';
  const launch = async () => {
    child = spawn(binaryPath, ['--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.exited = exited;
    for (;;) {
      if ((await get(port, '/health')) === 200) return;
      if (child.exitCode !== null) throw new Error(`greendot exited at start:\n${output}`);
      await new Promise((r) => setTimeout(r, 50)); // polling for the listening socket
    }
  };
  const stopChild = async () => {
    if (!child || child.exitCode !== null) return child?.exitCode ?? 0;
    child.kill('SIGTERM');
    return child.exited;
  };
  await launch();
  process.on('exit', () => child?.kill('SIGKILL'));
  return {
    port,
    apps,
    origin: `http://127.0.0.1:${port}`,
    url: (p) => `http://127.0.0.1:${port}${p}`,
    logs: () => output,
    async restart() {
      const code = await stopChild();
      if (code !== 0) throw new Error(`greendot exited with ${code}:\n${output}`);
      await launch();
    },
    async stop() {
      const code = await stopChild();
      fs.rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

/** A user token (JWT HS256) for `app`, as an application backend mints it. */
export function userToken(app, userId, { ttlSeconds = 600, contexts = ['*'], userInfo, aud = app.id, nbf } = {}) {
  const b64 = (text) => Buffer.from(text).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: String(userId), aud, contexts, iat: now, exp: now + ttlSeconds };
  if (userInfo) claims.user_info = userInfo;
  if (nbf) claims.nbf = nbf;
  const body = `${b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64(JSON.stringify(claims))}`;
  return `${body}.${crypto.createHmac('sha256', app.secret).update(body).digest('base64url')}`;
}

/** A signed REST call (Pusher's signature), for what the tests ask the server directly. */
export async function signed(gd, app, method, subPath, body, params = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const query = { ...params, auth_key: app.key, auth_timestamp: String(Math.floor(Date.now() / 1000)), auth_version: '1.0' };
  if (text) query.body_md5 = crypto.createHash('md5').update(text).digest('hex');
  const urlPath = `/apps/${app.id}${subPath}`;
  const sorted = Object.keys(query).sort().map((k) => `${k}=${query[k]}`).join('&');
  const signature = crypto.createHmac('sha256', app.secret).update(`${method}\n${urlPath}\n${sorted}`).digest('hex');
  const response = await fetch(gd.url(`${urlPath}?${sorted}&auth_signature=${signature}`), {
    method,
    headers: text ? { 'Content-Type': 'application/json' } : {},
    body: text || undefined,
  });
  if (!response.ok) throw new Error(`${method} ${subPath}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Whether greendot has the user online, as the application would ask. */
export async function isOnline(gd, app, user) {
  const answer = await signed(gd, app, 'POST', '/users/presence', { users: [user], unfiltered: true });
  return answer.users[user];
}
