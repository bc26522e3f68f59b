// Debian's Chromium, started by the tests themselves (not by Playwright, whose launch flags keep
// every page visible and unthrottled), with its DevTools endpoint for Playwright or raw CDP.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Starts Chromium headless; resolves with { wsEndpoint, close() }. */
export async function startChromium() {
  if (!fs.existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (apt-get install chromium, or set CHROMIUM)`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-chromium-'));
  const args = [
    '--headless=new',
    '--remote-debugging-port=0',
    `--user-data-dir=${profile}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--password-store=basic',
    '--window-size=1100,900',
    'about:blank',
  ];
  // Chromium refuses to run as root with its sandbox (CI containers run as root).
  if (process.getuid?.() === 0) args.unshift('--no-sandbox');
  // A process group of its own: Debian's /usr/bin/chromium is a wrapper script, and Chromium's
  // zygote and renderers are its children; stopping them all is what frees the profile.
  const child = spawn(chromiumPath, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  process.on('exit', () => killGroup('SIGKILL'));
  const wsEndpoint = await new Promise((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (d) => {
      log += d;
      const found = log.match(/DevTools listening on (ws:\/\/\S+)/);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`Chromium exited (${code}) before listening:\n${log}`)));
  });
  return {
    wsEndpoint,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.on('exit', r));
        killGroup('SIGTERM');
        await exited;
      }
      killGroup('SIGKILL'); // helpers that outlived the browser still write to the profile
      fs.rmSync(profile, { recursive: true, force: true, maxRetries: 50, retryDelay: 100 });
    },
  };
}
