// The Lua scripts of HTTP heartbeat sessions in Redis. A tab's session belongs to no node (the
// next ping may reach any of them): it lives in the channel's tabs hash with its due time by
// Redis's clock, and an entry in one of the app's expiry partitions lets whichever node
// sweeps first end it. The channel's hash is the truth; a partition's entry only says when to
// look, so an entry that is early, late or left over is harmless.
#pragma once

#include "engine/redis/redis_scripts.hpp"

namespace greendot::engine::redis_engine {

// A ping of one tab in one channel. KEYS: a channel's (see redis_scripts.cpp)
// ARGV: user, user_info, tab ("~" for none), ttl_ms, grace_ms, max_members, publish command,
//       event channel, epoch candidate, status ("o", "a", or "-" for as before), hidden
//       ("1": the user is invisible, told to no one), entry kept ("1": no expiry entry was
//       written with this ping, since the node wrote one lately; see recent_expiries.hpp)
// Returns {"ended"} (the tab said offline within its TTL), {"full"}, {"expiry"} (the tab has
// no session and no entry was written: nothing changed; write one and ping again), or
// {"ok", added, epoch, version, status_changed}: the tab is new or its status changed, so its
// part in the user's status is to be written (most pings change nothing and write nothing);
// epoch and version only when added
const Script& heartbeat_script();

// Ends a tab's session: mode "expire" (only when due, by Redis's clock), "end" (the tab said
// offline: recognised as ended until ARGV until_ms), or "end_all" (every tab of the user).
// A user whose last session it was leaves after grace_ms (a grace the calling node owns).
// KEYS: a channel's; ARGV: node, user, tab, mode, grace_ms, ttl_ms, publish command,
//       event channel, epoch candidate
// Returns {"gone"} (nothing to end), {"wait", due}, or
// {"ok", removed, grace_due, epoch, version, left, empty}: empty when nothing holds the
// channel any more
const Script& heartbeat_end_script();

}  // namespace greendot::engine::redis_engine
