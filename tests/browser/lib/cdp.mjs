// A minimal DevTools Protocol client, for the tests that need tabs Chromium really hides and
// throttles: a page Playwright attaches to is kept visible, so these tabs are driven raw.
//
//   const browser = await CdpBrowser.connect(chromium.wsEndpoint);
//   const tab = await browser.open(url);
//   await tab.waitFor('document.querySelector(".is-online") !== null', 'Bob online');
//   await tab.hide();  // minimizes its window: the page is hidden

import WebSocket from 'ws';

export class CdpBrowser {
  static async connect(wsEndpoint) {
    const socket = new WebSocket(wsEndpoint, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new CdpBrowser(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.nextId = 0;
    this.waiting = new Map();
    socket.on('message', (text) => {
      const message = JSON.parse(text);
      const pending = this.waiting.get(message.id);
      if (!pending) return;
      this.waiting.delete(message.id);
      if (message.error) pending.reject(new Error(`${pending.method}: ${message.error.message}`));
      else pending.resolve(message.result);
    });
  }

  send(method, params = {}, sessionId) {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, method });
      this.socket.send(JSON.stringify({ id, method, params, sessionId }));
    });
  }

  /** A new tab, in a window of its own (hidden when that window is minimized). */
  async open(url) {
    const { targetId } = await this.send('Target.createTarget', { url, newWindow: true });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    const tab = new CdpTab(this, targetId, sessionId);
    await tab.waitFor('document.readyState === "complete"', `${url} loaded`);
    return tab;
  }

  close() {
    this.socket.close();
  }
}

export class CdpTab {
  constructor(browser, targetId, sessionId) {
    this.browser = browser;
    this.targetId = targetId;
    this.sessionId = sessionId;
  }

  /** The value of an expression in the page (promises awaited). */
  async evaluate(expression) {
    const { result, exceptionDetails } = await this.browser.send(
      'Runtime.evaluate',
      { expression, awaitPromise: true, returnByValue: true },
      this.sessionId,
    );
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  }

  /** Waits until the expression is truthy in the page; its value. */
  async waitFor(expression, label, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let value;
      try {
        value = await this.evaluate(expression);
      } catch (error) {
        if (Date.now() > deadline) throw error; // the page may still be loading
      }
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Minimizes the tab's window, as a user does: the page is hidden (and, in time, throttled). */
  async hide() {
    await this.setWindowState('minimized');
    await this.waitFor(`document.visibilityState === 'hidden'`, 'the tab hidden');
  }

  async show() {
    await this.setWindowState('normal');
    await this.waitFor(`document.visibilityState === 'visible'`, 'the tab visible');
  }

  async setWindowState(windowState) {
    const { windowId } = await this.browser.send('Browser.getWindowForTarget', { targetId: this.targetId });
    await this.browser.send('Browser.setWindowBounds', { windowId, bounds: { windowState } });
  }

  /** Closes the tab as a user does (pagehide runs). */
  close() {
    return this.browser.send('Target.closeTarget', { targetId: this.targetId });
  }
}
