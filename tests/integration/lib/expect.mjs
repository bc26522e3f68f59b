// Assertions shared by the test files, written against docs/protocol.md.

import assert from 'node:assert/strict';
import { dataOf } from './clients.mjs';

export const SOCKET_ID = /^\d+\.\d+$/;

/**
 * docs/protocol.md: "Before closing with a 4xxx code greendot sends the same code and message as
 * pusher:error". Waits for the close, checks its code (and reason when given), and that a pusher:error
 * with the same code and message came before it.
 */
export async function expectErrorThenClose(client, code, reason, ms = 5000) {
  const close = await client.waitClose(ms);
  assert.equal(close.code, code, `close code; frames seen:\n${client.describe()}${client.socketErrors.length ? `\nsocket errors: ${client.socketErrors}` : ''}`);
  if (reason !== undefined) assert.equal(close.reason, reason, 'close reason');
  const errors = client.messages.filter((m) => m.event === 'pusher:error');
  const match = errors.find((m) => dataOf(m)?.code === code);
  assert.ok(match, `expected a pusher:error with code ${code} before close ${code}; frames seen:\n${client.describe()}`);
  const data = dataOf(match);
  assert.equal(typeof data.message, 'string', 'pusher:error message is a string');
  assert.ok(data.message.length > 0, 'pusher:error message is not empty');
  if (close.reason !== '') assert.equal(data.message, close.reason, 'pusher:error message equals the close reason');
  // Nothing but the error may follow the handshake for a refused connection.
  return { close, error: data };
}

/** A pusher:error without code, with a non-empty message; returns its data. */
export function assertPlainError(msg) {
  assert.equal(msg.event, 'pusher:error');
  const data = dataOf(msg);
  assert.equal(typeof data, 'object', `pusher:error data is an object (or JSON string of one): ${JSON.stringify(msg)}`);
  assert.equal(typeof data.message, 'string', `pusher:error has a message: ${JSON.stringify(msg)}`);
  assert.ok(data.message.length > 0, 'pusher:error message is not empty');
  assert.equal(data.code, undefined, `pusher:error has no code: ${JSON.stringify(msg)}`);
  return data;
}

/** The exact subscription_error frame from docs/protocol.md (data is an object). */
export function assertSubscriptionError(msg, channel, type, status) {
  assert.equal(msg.event, 'pusher:subscription_error', `expected subscription_error, got ${JSON.stringify(msg)}`);
  assert.equal(msg.channel, channel, 'subscription_error channel');
  assert.equal(typeof msg.data, 'object', `subscription_error data is an object: ${JSON.stringify(msg)}`);
  assert.deepEqual(Object.keys(msg.data).sort(), ['error', 'status', 'type'], `subscription_error data keys: ${JSON.stringify(msg)}`);
  assert.equal(msg.data.type, type, `subscription_error type: ${JSON.stringify(msg)}`);
  assert.equal(msg.data.status, status, `subscription_error status: ${JSON.stringify(msg)}`);
  assert.equal(typeof msg.data.error, 'string');
  assert.ok(msg.data.error.length > 0, 'subscription_error has a message');
  assert.deepEqual(Object.keys(msg).sort(), ['channel', 'data', 'event'], `subscription_error keys: ${JSON.stringify(msg)}`);
}

/** The exact subscription_succeeded frame for a non-presence channel. */
export function assertSucceededPlain(msg, channel) {
  assert.deepEqual(
    msg,
    { event: 'pusher_internal:subscription_succeeded', channel, data: '{}' },
    `subscription_succeeded for ${channel}`,
  );
}

/** The presence subscription_succeeded frame; returns the parsed {ids, hash, count}. */
export function assertSucceededPresence(msg, channel) {
  assert.equal(msg.event, 'pusher_internal:subscription_succeeded', `expected subscription_succeeded, got ${JSON.stringify(msg)}`);
  assert.equal(msg.channel, channel);
  assert.equal(typeof msg.data, 'string', 'presence subscription_succeeded data is a JSON string');
  const data = JSON.parse(msg.data);
  assert.deepEqual(Object.keys(data), ['presence']);
  assert.deepEqual(Object.keys(data.presence).sort(), ['count', 'hash', 'ids']);
  const { ids, hash, count } = data.presence;
  assert.ok(Array.isArray(ids));
  for (const id of ids) assert.equal(typeof id, 'string', `ids are strings: ${msg.data}`);
  assert.equal(new Set(ids).size, ids.length, `ids are unique: ${msg.data}`);
  assert.deepEqual(Object.keys(hash).sort(), [...ids].sort(), `hash keys are the ids: ${msg.data}`);
  assert.equal(count, ids.length, `count is the number of users: ${msg.data}`);
  return data.presence;
}
