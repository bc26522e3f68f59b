// What every browser test file starts with: greendot with one app, a site for the test pages
// on another origin, and Chromium.
import { chromium } from 'playwright-core';
import { startChromium } from './chromium.mjs';
import { makeApp, startGreendot } from './greendot.mjs';
import { startSite } from './pages.mjs';

export async function startWorld({ app: appOverrides = {}, web = {}, server = {}, playwright = true } = {}) {
  const app = makeApp(appOverrides);
  const gd = await startGreendot({ apps: [app], web, server });
  const site = await startSite(gd, app);
  const browserProcess = await startChromium();
  const browser = playwright ? await chromium.connectOverCDP(browserProcess.wsEndpoint) : null;
  return {
    app,
    gd,
    site,
    browser,
    wsEndpoint: browserProcess.wsEndpoint,
    async stop() {
      await browser?.close();
      await browserProcess.close();
      await site.close();
      return gd.stop();
    },
  };
}

/** The state of a user's dot on a Playwright page: { state, label } once it has one. */
export function dotOf(page, user) {
  return page.evaluate((id) => {
    const dot = document.querySelector(`[data-user-id="${id}"] .presence-dot`);
    return dot ? { state: dot.dataset.presence ?? null, label: dot.getAttribute('aria-label'), title: dot.title } : null;
  }, user);
}

/** Waits until the user's dot on the page is in `state`; returns the dot. */
export async function waitForDot(page, user, state, timeout = 20_000) {
  await page.waitForFunction(
    ([id, wanted]) => document.querySelector(`[data-user-id="${id}"] .presence-dot`)?.dataset.presence === wanted,
    [user, state],
    { timeout, polling: 100 },
  );
  return dotOf(page, user);
}

/** The library's events on the page about `user` (or all), in order. */
export function eventsOf(page, user) {
  return page.evaluate((id) => window.events.filter((e) => !id || e.user === id), user ?? null);
}
