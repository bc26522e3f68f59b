#include "engine/redis/user_scripts.hpp"

#include <initializer_list>
#include <string>

namespace greendot::engine::redis_engine {

namespace {

// Memberships are "epoch version" while present and "epoch version - at" once ended: the
// tombstone outlives any plausible delay between two nodes' second steps (an older change
// arriving after it is recognised as older), and is dropped after ten minutes.
constexpr std::string_view kMembershipFunction = R"lua(
local function parts(value)
  local out = {}
  for p in string.gmatch(value, '%S+') do out[#out + 1] = p end
  return out
end
local function started(e) return tonumber(string.match(e, '^(%d+)')) or 0 end
local function membership(tag, epoch, version, present, left, pub, chan)
  version, present = tonumber(version), present == '1'
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local old = redis.call('HGET', KEYS[2], tag)
  if old then
    local p = parts(old)
    if p[1] == epoch then
      if tonumber(p[2]) >= version then return 0 end
    elseif started(p[1]) > started(epoch) then
      return 0
    end
  end
  local fields = redis.call('HGETALL', KEYS[2])
  local before = 0
  for i = 1, #fields, 2 do
    local p = parts(fields[i + 1])
    if #p == 2 then
      before = before + 1
    elseif tonumber(p[4]) < now - 600000 and fields[i] ~= tag then
      redis.call('HDEL', KEYS[2], fields[i])
    end
  end
  local after = before
  if old and #parts(old) == 2 then after = after - 1 end
  if present then
    redis.call('HSET', KEYS[2], tag, epoch .. ' ' .. version)
    after = after + 1
  else
    redis.call('HSET', KEYS[2], tag, epoch .. ' ' .. version .. ' - ' .. now)
  end
  local visible = redis.call('HGET', KEYS[1], 'vis') ~= 'nobody'
  if before == 0 and after > 0 then
    if visible then redis.call(pub, chan, 'online') end
    return 1
  end
  if before > 0 and after == 0 then
    redis.call('HDEL', KEYS[1], 'st') -- back online, if ever, without a status of old
    if visible then
      redis.call('HSET', KEYS[1], 'ls', left)
      redis.call(pub, chan, 'offline')
    end
    return -1
  end
  return 0
end
)lua";

// Defaults are stored as no field, so that most users have no record at all. A user online
// going invisible looks to watchers like leaving now (last seen now: the time spent invisible
// is never recorded), and coming back like arriving; the channels to hide them in, or show
// them again, follow.
constexpr std::string_view kPrivacy = R"lua(
local function set(field, value, default)
  if value == '' then return end
  if value == default then redis.call('HDEL', KEYS[1], field)
  else redis.call('HSET', KEYS[1], field, value) end
end
local was = redis.call('HGET', KEYS[1], 'vis') or 'everyone'
set('vis', ARGV[1], 'everyone')
set('lsp', ARGV[2], 'exact')
local vis = redis.call('HGET', KEYS[1], 'vis') or 'everyone'
local out = {vis, redis.call('HGET', KEYS[1], 'lsp') or 'exact', 0}
if vis == was then return out end
out[3] = 1
local memberships = redis.call('HGETALL', KEYS[2])
for i = 1, #memberships, 2 do
  if not string.find(memberships[i + 1], ' - ', 1, true) then out[#out + 1] = memberships[i] end
end
if #out == 3 then return out end
if vis == 'nobody' then
  local t = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'ls', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  redis.call(ARGV[3], ARGV[4], 'offline')
else
  redis.call(ARGV[3], ARGV[4], 'online')
end
return out
)lua";

// A user's status from its parts: "s:n:<node>" (that node's sessions) and "s:t:<tab>" (a
// heartbeat tab), each "live away". Away when every live session is; with none live (in the
// grace) it stays what the others were last told ("st"), as a return or the removal decides.
constexpr std::string_view kStatusFunction = R"lua(
local function status(field, live, away)
  live = tonumber(live)
  local old = redis.call('HGET', KEYS[1], field)
  if away == '-' then away = old and tonumber(string.match(old, ' (%d+)$')) or 0 end
  local fields = redis.call('HGETALL', KEYS[1])
  if field == 's:t:*' then -- every tab of the user ended
    for i = 1, #fields, 2 do
      if string.sub(fields[i], 1, 4) == 's:t:' then redis.call('HDEL', KEYS[1], fields[i]) end
    end
  elseif live == 0 then redis.call('HDEL', KEYS[1], field)
  else redis.call('HSET', KEYS[1], field, live .. ' ' .. away) end
  local all, aways = 0, 0
  fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    if string.sub(fields[i], 1, 2) == 's:' then
      local l, a = string.match(fields[i + 1], '^(%d+) (%d+)$')
      all, aways = all + tonumber(l), aways + tonumber(a)
    end
  end
  if all == 0 then return {''} end
  local now_away = aways == all
  if now_away == (redis.call('HGET', KEYS[1], 'st') == 'away') then return {''} end
  if now_away then redis.call('HSET', KEYS[1], 'st', 'away')
  else redis.call('HDEL', KEYS[1], 'st') end
  local out = {now_away and 'away' or 'online'}
  local memberships = redis.call('HGETALL', KEYS[2])
  for i = 1, #memberships, 2 do
    if not string.find(memberships[i + 1], ' - ', 1, true) then out[#out + 1] = memberships[i] end
  end
  return out
end
)lua";

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (auto part : parts) text.append(part);
  return text;
}

}  // namespace

const Script& user_status_script() {
  static const Script script =
      make_script("user_status", kStatusFunction, "return status(ARGV[1], ARGV[2], ARGV[3])\n");
  return script;
}

const Script& user_membership_script() {
  static const Script script = make_script(
      "user_membership", kMembershipFunction,
      "return {membership(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]),\n"
      "        redis.call('HGET', KEYS[1], 'vis') == 'nobody' and 1 or 0}\n");
  return script;
}

// Membership first: the channels the status names are those after it.
const Script& user_update_script() {
  static const Script script = make_script(
      "user_update", joined({kMembershipFunction, kStatusFunction}),
      "local t = membership(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])\n"
      "local out = status(ARGV[8], ARGV[9], ARGV[10])\n"
      "table.insert(out, 1, redis.call('HGET', KEYS[1], 'vis') == 'nobody' and 1 or 0)\n"
      "table.insert(out, 1, t)\n"
      "return out\n");
  return script;
}

const Script& user_privacy_script() {
  static const Script script = make_script("user_privacy", {}, kPrivacy);
  return script;
}

}  // namespace greendot::engine::redis_engine
