#include "engine/redis/redis_scripts.hpp"

#include "protocol/digest.hpp"

namespace greendot::engine::redis_engine {

namespace {

// The members others may see: every member but the hidden ones, as HGETALL lists them.
constexpr std::string_view kVisibleMembers = R"lua(
local function visible_members(members, hidden)
  local all = redis.call('HGETALL', members)
  if redis.call('SCARD', hidden) == 0 then return all end
  local out = {}
  for i = 1, #all, 2 do
    if redis.call('SISMEMBER', hidden, all[i]) == 0 then
      out[#out + 1] = all[i]
      out[#out + 1] = all[i + 1]
    end
  end
  return out
end
)lua";

// Shared by the channel scripts. KEYS, always in this order, all of one channel:
// 1 members (user -> user_info; includes users in their grace)
// 2 live (user -> number of live sessions)
// 3 grace (user -> "node due": who ends it, and when)
// 4 version (epoch, v: every member event has the next v; a new epoch when the channel's
//   state started again from nothing, e.g. after Redis lost its data)
// 5 subscriptions (sessions of any kind, on every node)
// 6 the node's sessions (session -> user, "" for a subscription that is not a member;
//   "g:<user>" -> due of a member grace it owns; "vg" -> due of a vacate grace it owns)
// 7 vacate grace ("node due")
// 8 heartbeat tabs (user -> "tab due grace ..." triples; an ended tab is "tab x until")
// 9 hidden (the members who are invisible: in no one's list but their own, and not counted)
constexpr std::string_view kChannelPrelude = R"lua(
local K = KEYS
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- An epoch begins with Redis's time, so that of two epochs of a channel the later is known.
local function current_version(candidate)
  local epoch = redis.call('HGET', K[4], 'epoch')
  if not epoch then
    epoch = now_ms() .. '.' .. candidate
    redis.call('HSET', K[4], 'epoch', epoch, 'v', 0)
  end
  return epoch, tonumber(redis.call('HGET', K[4], 'v'))
end
local function tell(pub, chan, kind, epoch, version, except, user, info)
  redis.call(pub, chan, kind .. ' ' .. epoch .. ' ' .. version .. ' ' .. except .. ' ' ..
             #user .. '\n' .. user .. info)
end
-- The version of the removal (and its epoch), or nothing when the user was no member.
local function remove_member(pub, chan, candidate, user)
  if redis.call('HDEL', K[1], user) == 0 then return nil end
  redis.call('SREM', K[9], user)
  local epoch = current_version(candidate)
  local version = redis.call('HINCRBY', K[4], 'v', 1)
  tell(pub, chan, 'r', epoch, version, '-', user, '')
  return version, epoch
end
-- A new member, told to the others as 'a'; an invisible one ('1') is told as 'h' (hidden), which
-- no node shows, so that every member event still has the next version. Returns the version.
local function tell_added(pub, chan, epoch, except, user, info, hidden)
  local version = redis.call('HINCRBY', K[4], 'v', 1)
  if hidden == '1' then
    redis.call('SADD', K[9], user)
    tell(pub, chan, 'h', epoch, version, except, user, '')
  else
    tell(pub, chan, 'a', epoch, version, except, user, info)
  end
  return version
end
-- A member grace is "due left": when it ends, and when the user's last session ended (their
-- last seen, should the grace end with them gone).
local function due_of(grace) return tonumber(string.match(grace, '^(%d+)')) end
local function left_of(grace) return string.match(grace, ' (%d+)$') or due_of(grace) end
-- A session of a user began: 'added' when it made them a member, 'back' when it is a return
-- inside the grace (which cancels it), nothing for another session of a member.
local function session_began(user, info)
  if redis.call('HINCRBY', K[2], user, 1) ~= 1 then return nil end
  if redis.call('HDEL', K[3], user) == 1 then return 'back' end
  if redis.call('HSETNX', K[1], user, info) == 1 then return 'added' end
  return nil
end
-- A member's grace began ('g') or ended with their return ('b', with their user_info): joiners
-- meanwhile are not given them, and are told of the return. Nothing for a hidden member, whom
-- no one sees. Returns the version now.
local function tell_grace(pub, chan, candidate, kind, user)
  local epoch, version = current_version(candidate)
  if redis.call('SISMEMBER', K[9], user) == 1 then return version end
  version = redis.call('HINCRBY', K[4], 'v', 1)
  local info = ''
  if kind == 'b' then info = redis.call('HGET', K[1], user) or '{}' end
  tell(pub, chan, kind, epoch, version, '-', user, info)
  return version
end
-- `count` sessions of a user ended (`left`: when). With their last one the user leaves, after
-- the grace (owned by `node`) or now. Returns removed (0/1), grace_due, epoch, version.
local function sessions_ended(user, count, node, grace, now, left, pub, chan, candidate)
  if redis.call('HINCRBY', K[2], user, -count) > 0 then return 0, 0, '', 0 end
  redis.call('HDEL', K[2], user)
  if grace > 0 then
    local due = now + grace
    local value = due .. ' ' .. left
    redis.call('HSET', K[3], user, node .. ' ' .. value)
    redis.call('HSET', K[6], 'g:' .. user, value)
    tell_grace(pub, chan, candidate, 'g', user)
    return 0, due, '', 0
  end
  local version, epoch = remove_member(pub, chan, candidate, user)
  if version then return 1, 0, epoch, version end
  return 0, 0, '', 0
end
-- A channel with nothing left forgets its version too: its next life is a new epoch.
local function forget_if_empty()
  if redis.call('EXISTS', K[1], K[3], K[5], K[7]) == 0 then redis.call('DEL', K[4]) end
end
local function subscribe_one()
  if redis.call('INCR', K[5]) ~= 1 then return 0 end
  if redis.call('DEL', K[7]) == 1 then return 0 end -- back within the vacate grace
  return 1
end
local function unsubscribe(node, count, grace, now)
  if redis.call('DECRBY', K[5], count) > 0 then return 0, 0 end
  redis.call('DEL', K[5])
  if grace <= 0 then return 1, 0 end
  local due = now + grace
  redis.call('SET', K[7], node .. ' ' .. due)
  redis.call('HSET', K[6], 'vg', due)
  return 0, due
end
)lua";

}  // namespace

std::string_view channel_script_prelude() {
  static const std::string prelude = std::string(kVisibleMembers).append(kChannelPrelude);
  return prelude;
}

namespace {

constexpr std::string_view kJoin = R"lua(
local node, sid, user, info = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local max, want = tonumber(ARGV[5]), ARGV[6] == '1'
local except, pub, chan, candidate, hidden = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local added, occupied = 0, 0
if redis.call('HEXISTS', K[6], sid) == 0 then
  if user ~= '' and max > 0 and redis.call('HEXISTS', K[2], user) == 0 and
     redis.call('HLEN', K[2]) >= max then
    return {'full'}
  end
  redis.call('HSET', K[6], sid, user)
  occupied = subscribe_one()
  if user ~= '' then
    local began = session_began(user, info)
    if began == 'added' then added = 1 end
    if began == 'back' then tell_grace(pub, chan, candidate, 'b', user) end
  end
end
local epoch, version = current_version(candidate)
if added == 1 then version = tell_added(pub, chan, epoch, except, user, info, hidden) end
local list, graced = {}, {}
if want then list, graced = visible_members(K[1], K[9]), redis.call('HKEYS', K[3]) end
return {'ok', added, occupied, epoch, version, list, graced}
)lua";

constexpr std::string_view kLeave = R"lua(
local node, sid, grace = ARGV[1], ARGV[2], tonumber(ARGV[3])
local pub, chan, candidate = ARGV[4], ARGV[5], ARGV[6]
local user = redis.call('HGET', K[6], sid)
if not user then return {'gone'} end
redis.call('HDEL', K[6], sid)
local now = now_ms()
local removed, grace_due, epoch, version = 0, 0, '', 0
if user ~= '' then
  removed, grace_due, epoch, version =
    sessions_ended(user, 1, node, grace, now, now, pub, chan, candidate)
end
local vacated, vacate_due = unsubscribe(node, 1, grace, now)
forget_if_empty()
return {'ok', removed, vacated, user, grace_due, vacate_due, epoch, version, now}
)lua";

constexpr std::string_view kGraceEnd = R"lua(
local node, user = ARGV[1], ARGV[2]
local pub, chan, candidate = ARGV[3], ARGV[4], ARGV[5]
local field = 'vg'
if user ~= '' then field = 'g:' .. user end
local due = redis.call('HGET', K[6], field)
if not due then return {'done', 0, 0, '', 0, 0} end
local owner
if user ~= '' then owner = redis.call('HGET', K[3], user) else owner = redis.call('GET', K[7]) end
if owner ~= node .. ' ' .. due then
  redis.call('HDEL', K[6], field) -- cancelled by a return, or someone else's grace now
  return {'done', 0, 0, '', 0, 0}
end
local now = now_ms()
if now < due_of(due) then return {'wait', due_of(due) - now} end
redis.call('HDEL', K[6], field)
local removed, vacated, epoch, version = 0, 0, '', 0
if user ~= '' then
  redis.call('HDEL', K[3], user)
  if redis.call('HEXISTS', K[2], user) == 0 then
    version, epoch = remove_member(pub, chan, candidate, user)
    if version then removed = 1 else version, epoch = 0, '' end
  end
else
  redis.call('DEL', K[7])
  if tonumber(redis.call('GET', K[5]) or '0') <= 0 then vacated = 1 end
end
forget_if_empty()
return {'done', removed, vacated, epoch, version, left_of(due)}
)lua";

constexpr std::string_view kSweepChannel = R"lua(
local pub, chan, candidate, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local fields = redis.call('HGETALL', K[6])
local removed, users = {}, {}
local result = {'ok', 0, removed, users}
local sessions, owned_vacancy = 0, false
local now = now_ms()
local function gone(user, left)
  if redis.call('HEXISTS', K[2], user) == 1 or redis.call('HEXISTS', K[3], user) == 1 then
    return
  end
  local version, epoch = remove_member(pub, chan, candidate, user)
  if version then
    for _, v in ipairs({user, epoch, version, left}) do table.insert(removed, v) end
  end
end
for i = 1, #fields, 2 do
  local f, value = fields[i], fields[i + 1]
  if f == 'vg' then
    if redis.call('GET', K[7]) == node .. ' ' .. value then
      redis.call('DEL', K[7])
      owned_vacancy = true
    end
  elseif string.sub(f, 1, 2) == 'g:' then
    local user = string.sub(f, 3)
    if redis.call('HGET', K[3], user) == node .. ' ' .. value then
      redis.call('HDEL', K[3], user)
      gone(user, left_of(value))
    end
  else
    sessions = sessions + 1
    if value ~= '' then table.insert(users, value) end
    if value ~= '' and redis.call('HINCRBY', K[2], value, -1) <= 0 then
      redis.call('HDEL', K[2], value)
      gone(value, now)
    end
  end
end
redis.call('DEL', K[6])
if sessions > 0 then
  if redis.call('DECRBY', K[5], sessions) <= 0 then
    redis.call('DEL', K[5])
    result[2] = 1
  end
elseif owned_vacancy and tonumber(redis.call('GET', K[5]) or '0') <= 0 then
  result[2] = 1
end
forget_if_empty()
return result
)lua";

// KEYS: members, version, hidden, grace
constexpr std::string_view kMembers = R"lua(
local epoch = redis.call('HGET', KEYS[2], 'epoch') or ''
local version = tonumber(redis.call('HGET', KEYS[2], 'v') or '0')
return {epoch, version, visible_members(KEYS[1], KEYS[3]), redis.call('HKEYS', KEYS[4])}
)lua";

// KEYS: subscriptions, members, vacate grace, hidden. Invisible members are not counted.
constexpr std::string_view kStats = R"lua(
return {tonumber(redis.call('GET', KEYS[1]) or '0'),
        redis.call('HLEN', KEYS[2]) - redis.call('SCARD', KEYS[4]), redis.call('EXISTS', KEYS[3])}
)lua";

// A member going invisible ('h') or visible again ('s'): the others see them leave or arrive
// (their own connections are not told); nothing when they are no member or already so.
constexpr std::string_view kVisibility = R"lua(
local user, mode, pub, chan, candidate = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local info = redis.call('HGET', K[1], user)
if not info then return 0 end
if mode == 'h' then
  if redis.call('SADD', K[9], user) == 0 then return 0 end
  info = ''
elseif redis.call('SREM', K[9], user) == 0 then
  return 0
end
local epoch = current_version(candidate)
tell(pub, chan, mode, epoch, redis.call('HINCRBY', K[4], 'v', 1), '-', user, info)
return 1
)lua";

constexpr std::string_view kNodePrelude = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
)lua";

constexpr std::string_view kRegisterNode = R"lua(
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
)lua";

constexpr std::string_view kRefreshNode = R"lua(
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
)lua";

constexpr std::string_view kClaimDeadNodes = R"lua(
local claim, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], now + claim, id)
  table.insert(out, id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZADD', KEYS[2], now + claim, id)
  table.insert(out, id)
end
table.insert(out, redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]))
return out
)lua";

}  // namespace

std::string script_sha1(std::string_view text) {
  const protocol::Sha1Digest digest = protocol::sha1(text);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char byte : digest) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 15]);
  }
  return out;
}

Script make_script(std::string_view name, std::string_view prelude, std::string_view body) {
  std::string text(prelude);
  text.append(body);
  std::string sha = script_sha1(text);
  return Script{name, std::move(text), std::move(sha)};
}

const Script& join_script() {
  static const Script script = make_script("join", channel_script_prelude(), kJoin);
  return script;
}
const Script& leave_script() {
  static const Script script = make_script("leave", channel_script_prelude(), kLeave);
  return script;
}
const Script& grace_end_script() {
  static const Script script = make_script("grace_end", channel_script_prelude(), kGraceEnd);
  return script;
}
const Script& sweep_channel_script() {
  static const Script script =
      make_script("sweep_channel", channel_script_prelude(), kSweepChannel);
  return script;
}
const Script& members_script() {
  static const Script script = make_script("members", kVisibleMembers, kMembers);
  return script;
}
const Script& stats_script() {
  static const Script script = make_script("stats", {}, kStats);
  return script;
}
const Script& visibility_script() {
  static const Script script = make_script("visibility", channel_script_prelude(), kVisibility);
  return script;
}
const Script& register_node_script() {
  static const Script script = make_script("register_node", kNodePrelude, kRegisterNode);
  return script;
}
const Script& refresh_node_script() {
  static const Script script = make_script("refresh_node", kNodePrelude, kRefreshNode);
  return script;
}
const Script& claim_dead_nodes_script() {
  static const Script script = make_script("claim_dead_nodes", kNodePrelude, kClaimDeadNodes);
  return script;
}

}  // namespace greendot::engine::redis_engine
