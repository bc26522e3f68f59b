// The Lua scripts of the Redis engine. Every change to shared presence is one script, so that
// deciding (first in, last out, end of a grace) and telling (the event published to the
// channel's subscribers) happen in one atomic step: never check-then-set from a node. Each
// script touches the keys of one channel (one hash tag) or of the node registry, so that the
// same scripts run on one server and on a Cluster.
//
// Times are Redis's (TIME), never a node's clock: graces and node leases end by one clock.
#pragma once

#include <string>
#include <string_view>

namespace greendot::engine::redis_engine {

struct Script {
  std::string_view name;
  std::string text;
  std::string sha1;  // hex, as EVALSHA wants it
};

// A session begins: a member's (a session of a user) or, with user "", a subscription to a
// channel that is not a presence channel. The same session again is a no-op, so that
// re-asserting sessions after a reconnect is safe.
// KEYS: members, live, grace, version, subscriptions, node's sessions, vacate-grace, tabs,
//       hidden
// ARGV: node, session, user, user_info, max_members, want_list, except, publish command,
//       event channel, epoch candidate, hidden ("1": the user is invisible, told to no one)
// Returns {"full"} or {"ok", added, occupied, epoch, version, members-or-empty, in-grace-or-empty}
// (the members others see: without the hidden ones, the joiner too when hidden; and which of
// them are in their grace). An epoch
// begins with Redis's time in ms, so that the later of two epochs of a channel is known.
const Script& join_script();

// A session ends. With a grace, a last session leaves its user in the member list until the
// grace ends (a join meanwhile cancels it) and the node that ended it owns the deadline.
// KEYS: as join; ARGV: node, session, grace_ms, publish command, event channel, epoch candidate
// Returns {"gone"} (no such session) or
// {"ok", removed, vacated, user, grace_due, vacate_due, epoch, version, now}, where epoch and
// version are those of the removal ("" and 0 without one) and now is Redis's time.
const Script& leave_script();

// The end of a grace this node owns, for a member (user set) or the channel's vacancy (user "").
// KEYS: as join; ARGV: node, user, publish command, event channel, epoch candidate
// Returns {"wait", ms} when Redis's clock says it is not due yet, else
// {"done", removed, vacated, epoch, version, left}: left is when the user's last session ended.
const Script& grace_end_script();

// Everything of a node in a channel ends now: its sessions, subscriptions and graces. For a
// node that stopped refreshing its lease (swept by any other node) and for one shutting down.
// KEYS: as join, with the swept node's sessions; ARGV: publish command, event channel,
//       epoch candidate, swept node
// Returns {"ok", vacated, {user, epoch, version, left for each member removed},
//          {the user of each of the node's sessions}}
const Script& sweep_channel_script();

// The member list others see now: KEYS: members, version, hidden, grace;
// returns {epoch-or-"", version, members, the users in their grace}
const Script& members_script();

// Counts: KEYS: subscriptions, members, vacate-grace, hidden;
// returns {subscriptions, members others see, waiting}
const Script& stats_script();

// A member going invisible (ARGV mode "h") or visible again ("s"). KEYS: as join;
// ARGV: user, mode, publish command, event channel, epoch candidate.
// Returns 1 when it changed something (and told the others), 0 when not a member or already so.
const Script& visibility_script();

// Node leases. register: ARGV node, lease_ms (NX); refresh: ARGV node, lease_ms, returns 0
// when the node is not registered any more (swept, or Redis lost its data).
// KEYS: live nodes, nodes being swept
const Script& register_node_script();
const Script& refresh_node_script();
// Claims nodes whose lease ended (and sweeps that stalled) for the caller to sweep; also the
// heartbeat expiries of a partition. ARGV: claim_ms, limit; returns the ids, then (an integer)
// how many entries the two sets still hold.
const Script& claim_dead_nodes_script();

// What every channel script begins with: the keys' order and the shared Lua functions.
std::string_view channel_script_prelude();

// A script made of a shared prelude and its body, with its SHA-1 for EVALSHA.
Script make_script(std::string_view name, std::string_view prelude, std::string_view body);

}  // namespace greendot::engine::redis_engine
