// Starts the real greendot binary with a temporary TOML config on a free loopback port.
//
//   const server = await startServer({ server: { activity_timeout: 2 }, apps: [{ ... }] });
//   server.port, server.wsUrl(key), server.httpUrl('/health'), server.app(i)
//   await server.stop()  // SIGTERM, resolves with the exit code
//   server.kill()        // SIGKILL
//
// The binary comes from GREENDOT_BIN, else <repo>/build/greendot.

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
export const binaryPath = process.env.GREENDOT_BIN
  ? path.resolve(process.env.GREENDOT_BIN)
  : path.join(repoRoot, 'build', 'greendot');

const running = new Set();
const tempDirs = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

let appCounter = 0;

/** A complete app entry with test-friendly defaults; `overrides` wins. */
export function makeApp(overrides = {}) {
  appCounter += 1;
  const n = appCounter;
  return {
    id: `app${n}`,
    // Shaped like real Pusher credentials: 20 hex characters of key, 20 of secret.
    key: crypto.randomBytes(10).toString('hex'),
    secret: crypto.randomBytes(10).toString('hex'),
    enabled: true,
    client_events: true,
    client_events_per_second: 10,
    max_presence_members: 1000,
    max_user_info_bytes: 1024,
    max_user_id_length: 128,
    max_connections: 0,
    max_channels_per_connection: 100,
    offline_grace_ms: 0,
    user_authentication: true,
    ...overrides,
  };
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function tomlValue(v) {
  if (typeof v === 'string') return JSON.stringify(v); // TOML basic strings use JSON's escapes
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`TOML writer: only integers supported, got ${v}`);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(', ')}]`;
  throw new Error(`TOML writer: unsupported value ${JSON.stringify(v)}`);
}

const isTableArray = (v) => Array.isArray(v) && v.length > 0 && v.every((x) => x && typeof x === 'object' && !Array.isArray(x));

/** Key/values of `table` under `header`; arrays of objects become [[header.key]] tables after them. */
function tomlTable(header, table, lines) {
  lines.push(header);
  const nested = [];
  for (const [k, v] of Object.entries(table)) {
    if (v === undefined) continue;
    if (isTableArray(v)) nested.push([k, v]);
    else lines.push(`${k} = ${tomlValue(v)}`);
  }
  const name = header.replace(/^\[+|\]+$/g, '');
  for (const [k, items] of nested) {
    for (const item of items) {
      lines.push('');
      tomlTable(`[[${name}.${k}]]`, item, lines);
    }
  }
}

/** The config file: [server], [engine] when given, and one [[apps]] per app (an app's arrays of objects, e.g. webhooks, become [[apps.webhooks]]). */
export function toToml({ server, apps, engine, web }) {
  const lines = [];
  tomlTable('[server]', server, lines);
  for (const [name, table] of [['[engine]', engine], ['[web]', web]]) {
    if (!table) continue;
    lines.push('');
    tomlTable(name, table, lines);
  }
  for (const app of apps) {
    lines.push('');
    tomlTable('[[apps]]', app, lines);
  }
  return lines.join('\n') + '\n';
}

function httpStatus(port, urlPath, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

// greendot reads GREENDOT_* variables over the config file: keep the test's config authoritative.
function childEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GREENDOT_')) env[k] = v;
  return env;
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @param {object} opts
 * @param {object} [opts.server]  [server] table overrides (activity_timeout, pong_timeout, ...)
 * @param {object[]} [opts.apps]  app entries (use makeApp); default: one app
 * @param {object} [opts.engine]  the [engine] table (kind, redis_url, node_lease_ms, ...)
 * @param {object} [opts.web]  the [web] table (dashboard_user, dashboard_password, ...)
 * @param {string[]} [opts.args]  extra command-line arguments
 * @param {string} [opts.configFile]  a config file of the repository to start with instead of one
 *   written from opts.server and opts.apps (which should then describe its apps); the port and
 *   the data directory are still the test's own
 * @param {string[]} [opts.launcher]  a command that execs the binary, e.g. ['prlimit', '--nofile=64:64']
 */
export async function startServer(opts = {}) {
  if (!fs.existsSync(binaryPath)) {
    throw new Error(`greendot binary not found at ${binaryPath} (build it or set GREENDOT_BIN)`);
  }
  const port = await freePort();
  const apps = opts.apps ?? [makeApp()];
  const serverTable = {
    host: '127.0.0.1',
    port,
    activity_timeout: 30,
    pong_timeout: 30,
    max_message_bytes: 10240,
    max_outbound_bytes: 1024 * 1024,
    log_level: process.env.GREENDOT_TEST_LOG_LEVEL || 'info',
    ...(opts.server ?? {}),
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-itest-'));
  tempDirs.add(dir);
  let configPath = path.join(dir, 'greendot.toml');
  const args = [...(opts.args ?? [])];
  if (opts.configFile) {
    configPath = opts.configFile;
    args.unshift('--port', String(port), '--data-dir', dir);
  } else {
    fs.writeFileSync(configPath, toToml({ server: serverTable, apps, engine: opts.engine, web: opts.web }));
  }

  // `launcher` runs the binary through a command that execs it (e.g. ['prlimit', '--nofile=64:64']),
  // so that the child's pid stays the server's.
  const launcher = opts.launcher ?? [];
  const command = launcher.length > 0 ? launcher[0] : binaryPath;
  const commandArgs = [...launcher.slice(1), ...(launcher.length > 0 ? [binaryPath] : []), '--config', configPath, ...args];
  const child = spawn(command, commandArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...childEnv(), ...(opts.env ?? {}) },
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  let exitInfo = null;
  let stopping = false;
  let started = false;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      running.delete(child);
      if (started && !stopping) {
        // A crash in the middle of a file shows up as ECONNREFUSED in the tests: say why.
        process.stderr.write(
          `\n*** greendot (pid ${child.pid}, port ${port}) exited unexpectedly: code ${code}, signal ${signal}\n` +
            `--- stdout ---\n${stdout.slice(-4000)}\n--- stderr ---\n${stderr.slice(-4000)}\n`,
        );
      }
      resolve(exitInfo);
    });
  });
  const spawnError = new Promise((_, reject) => child.on('error', reject));
  spawnError.catch(() => {});

  const handle = {
    port,
    host: '127.0.0.1',
    apps,
    configPath,
    config: { server: serverTable, apps },
    child,
    exited,
    get pid() {
      return child.pid;
    },
    get exitInfo() {
      return exitInfo;
    },
    stdout: () => stdout,
    stderr: () => stderr,
    app: (i = 0) => apps[i],
    httpUrl: (p = '/') => `http://127.0.0.1:${port}${p}`,
    wsUrl: (key = apps[0].key, query = '?protocol=7&client=js&version=8.6.0&flash=false') =>
      `ws://127.0.0.1:${port}/app/${key}${query}`,
    /** SIGTERM and wait for exit; resolves with the exit code (null if killed by a signal). */
    async stop(signal = 'SIGTERM', timeoutMs = 10000) {
      if (exitInfo) return exitInfo.code;
      stopping = true;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const info = await exited;
      clearTimeout(t);
      return info.code;
    },
    kill() {
      stopping = true;
      if (!exitInfo) child.kill('SIGKILL');
      return exited;
    },
    /** Logs for assertion messages. */
    logs() {
      return `--- greendot stdout ---\n${stdout.slice(-4000)}\n--- greendot stderr ---\n${stderr.slice(-4000)}`;
    },
  };

  const deadline = Date.now() + 10000;
  try {
    for (;;) {
      if (exitInfo) {
        throw new Error(
          `greendot exited during start-up (code ${exitInfo.code}, signal ${exitInfo.signal})\n` +
            `config:\n${toToml({ server: serverTable, apps })}\n${handle.logs()}`,
        );
      }
      // A node sharing presence through Redis is ready once it reaches Redis.
      const status = await Promise.race([httpStatus(port, opts.engine ? '/ready' : '/health'), spawnError]);
      if (status === 200) break;
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`greendot did not answer GET ${opts.engine ? '/ready' : '/health'} with 200 within 10 s (last: ${status})\n${handle.logs()}`);
      }
      await delay(50);
    }
  } catch (err) {
    if (!exitInfo) {
      child.kill('SIGKILL');
      await Promise.race([exited, delay(2000)]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  started = true;
  exited.then(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  });
  return handle;
}
