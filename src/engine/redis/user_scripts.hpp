// The Lua scripts of a user's record in Redis: in which channels the user is a member (so
// that "online" means the same on every node, and going offline is noticed once), last seen,
// and privacy. All of a user's keys share the tag {app:u:user}, so each script touches one slot.
//
// A channel script decides first-in / last-out for its channel; the user's record learns of it
// in a second step (one script cannot touch two slots in a Cluster), sent by the node that ran
// the channel script. Two nodes' second steps may arrive in either order, so each carries the
// channel event's epoch and version and an older one is ignored.
#pragma once

#include "engine/redis/redis_scripts.hpp"

namespace greendot::engine::redis_engine {

// A user became a member of a channel (present "1") or stopped being one ("0").
// KEYS: record, memberships; ARGV: tag, epoch, version, present, left_at (unix ms, when the
//       last session ended), publish command, the user's events channel
// Returns {1 when the user came online with it, -1 when they went offline (their last seen is
// then left_at, unless they are invisible), 0 otherwise (or when the change was older);
// 1 when the user is invisible now, else 0}: a session joined as visible by a node that did
// not know yet is then hidden (and the other way round).
const Script& user_membership_script();

// One part of a user's status: a node's sessions of the user ("s:n:<node>") or a heartbeat
// tab ("s:t:<tab>"), with how many are live and away (away "-": as before; live 0 removes it;
// the field "s:t:*" removes every tab's).
// KEYS: record, memberships; ARGV: field, live, away
// Returns {""} when the user's status stays, else {"away" | "online", the tags of the
// channels the user is a member of}, for the calling node to tell their members.
const Script& user_status_script();

// Both in one step, for a session whose start or end changes the user's memberships and this
// node's part in their status at once (a join or leave of a user's only session here).
// KEYS: record, memberships; ARGV: the membership's seven, then the status part's three
// Returns {membership's two answers, then the status's}
const Script& user_update_script();

// Sets privacy fields ("" keeps one). KEYS: record, memberships; ARGV: visibility, last_seen,
// publish command, the user's events channel.
// Returns {visibility, last_seen, changed}, as stored now ("everyone" / "exact" when never set),
// and when the visibility changed (1), the tags of the channels the user is a member of.
const Script& user_privacy_script();

}  // namespace greendot::engine::redis_engine
