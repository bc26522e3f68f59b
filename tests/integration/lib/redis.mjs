// Real redis-server processes (Debian's 7.0) for the multi-node tests, on free loopback ports,
// without persistence unless asked: a restart then loses everything, the hardest case.
//
//   const redis = await startRedis();  redis.url, await redis.restart(), await redis.stop()
//   await redis.command('HGETALL', key)  // through redis-cli

import { spawn, execFile } from 'node:child_process';
import net from 'node:net';
import { freePort } from './server.mjs';

const running = new Set();
process.on('exit', () => {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

async function untilAccepting(port, child) {
  const deadline = Date.now() + 10000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited at start`);
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startRedis({ args = [] } = {}) {
  const port = await freePort();
  let child = null;
  const launch = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
      stdio: 'ignore',
    });
    running.add(child);
    child.on('exit', () => running.delete(child));
    await untilAccepting(port, child);
  };
  await launch();
  const handle = {
    port,
    url: `redis://127.0.0.1:${port}`,
    /** Kills it (SIGKILL: nothing saved) and starts it again empty on the same port. */
    async restart({ downMs = 0 } = {}) {
      await handle.kill();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    /** Starts it again (empty) after kill(). */
    start: () => launch(),
    async kill() {
      if (child.exitCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    },
    stop: () => handle.kill(),
    command: (...words) =>
      new Promise((resolve, reject) => {
        execFile('redis-cli', ['-p', String(port), '--raw', ...words], (err, stdout) => (err ? reject(err) : resolve(stdout)));
      }),
  };
  return handle;
}

/**
 * A Redis Cluster of `primaries` primaries (no replicas) on free loopback ports, made with
 * `redis-cli --cluster create` and waited for until every node says cluster_state:ok.
 * url: the seeds, comma-separated, as [engine] redis_url takes them.
 */
export async function startRedisCluster({ primaries = 3 } = {}) {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-cluster-'));
  const nodes = [];
  for (let i = 0; i < primaries; i++) {
    const port = await freePort();
    const node = {
      port,
      child: null,
      async launch() {
        node.child = spawn(
          'redis-server',
          ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes',
            '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '2000', '--dir', dir],
          { stdio: 'ignore' },
        );
        running.add(node.child);
        node.child.on('exit', () => running.delete(node.child));
        await untilAccepting(port, node.child);
      },
      async kill() {
        if (!node.child || node.child.exitCode !== null) return;
        const gone = new Promise((r) => node.child.once('exit', r));
        node.child.kill('SIGKILL');
        await gone;
      },
    };
    await node.launch();
    nodes.push(node);
  }
  const cli = (...words) =>
    new Promise((resolve, reject) => {
      execFile('redis-cli', words, { timeout: 30000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
  await cli('--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes');
  const allOk = async () => {
    const deadline = Date.now() + 30000;
    for (;;) {
      const states = await Promise.all(nodes.map((n) => cli('-p', String(n.port), 'CLUSTER', 'INFO').catch(() => '')));
      if (states.every((s) => s.includes('cluster_state:ok'))) return;
      if (Date.now() > deadline) throw new Error(`the Redis Cluster did not become ok:\n${states.join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await allOk();
  const handle = {
    nodes,
    url: nodes.map((n) => `redis://127.0.0.1:${n.port}`).join(','),
    /** Every primary killed and started again without its data (keeping its cluster identity). */
    async restart() {
      await handle.kill();
      await handle.start();
    },
    async kill() {
      for (const n of nodes) await n.kill();
    },
    /** Every primary started again (empty, keeping its cluster identity) after kill(). */
    async start() {
      for (const n of nodes) await n.launch();
      await allOk();
    },
    async stop() {
      for (const n of nodes) await n.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
    command: (...words) => cli('-c', '-p', String(nodes[0].port), '--raw', ...words),
  };
  return handle;
}
