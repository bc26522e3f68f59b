#include "engine/redis/heartbeat_scripts.hpp"

namespace greendot::engine::redis_engine {

namespace {

// A user's tabs in a channel, parsed from and written back to K[8]: a few per user, each
// "tab due grace status" (status "o" or "a"), or "tab x until -" once it said offline.
constexpr std::string_view kTabs = R"lua(
local function parse_tabs(value)
  local tabs, order = {}, {}
  if value then
    local p = {}
    for t in string.gmatch(value, '%S+') do p[#p + 1] = t end
    for i = 1, #p - 3, 4 do
      tabs[p[i]] = {p[i + 1], tonumber(p[i + 2]), p[i + 3]}
      order[#order + 1] = p[i]
    end
  end
  return tabs, order
end
local function read_tabs(user) return parse_tabs(redis.call('HGET', K[8], user)) end
local function write_tabs(user, tabs, order)
  local out = {}
  for _, tab in ipairs(order) do
    local t = tabs[tab]
    if t then out[#out + 1] = tab .. ' ' .. t[1] .. ' ' .. t[2] .. ' ' .. t[3] end
  end
  if #out == 0 then redis.call('HDEL', K[8], user)
  else redis.call('HSET', K[8], user, table.concat(out, ' ')) end
end
local function live_tabs(tabs)
  local n = 0
  for _, t in pairs(tabs) do if t[1] ~= 'x' then n = n + 1 end end
  return n
end
)lua";

constexpr std::string_view kHeartbeat = R"lua(
local user, info, tab = ARGV[1], ARGV[2], ARGV[3]
local ttl, grace, max = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local pub, chan, candidate, status, hidden = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local entry_kept = ARGV[12] == '1'
local now = now_ms()
local value = redis.call('HGET', K[8], user)
-- Most pings are of the user's only tab, live, its status as before: rewritten in place.
if value then
  local only, st = string.match(value, '^(%S+) %d+ %d+ (%S+)$')
  if only == tab and (status == '-' or status == st) then
    redis.call('HSET', K[8], user, tab .. ' ' .. tostring(now + ttl) .. ' ' .. grace .. ' ' .. st)
    return {'ok', 0, '', 0, 0}
  end
end
local tabs, order = parse_tabs(value)
local t = tabs[tab]
if not t then order[#order + 1] = tab end
if t and t[1] == 'x' then
  if t[2] > now then return {'ended'} end
  tabs[tab] = nil
  t = nil
end
-- A session begins only once its expiry entry is written.
if not t and entry_kept then return {'expiry'} end
local added = 0
if not t then
  if max > 0 and redis.call('HEXISTS', K[2], user) == 0 and redis.call('HLEN', K[2]) >= max then
    return {'full'}
  end
  local began = session_began(user, info)
  if began == 'added' then added = 1 end
  if began == 'back' then tell_grace(pub, chan, candidate, 'b', user) end
end
local previous = t and t[3]
if status == '-' then status = previous or 'o' end
tabs[tab] = {tostring(now + ttl), grace, status}
write_tabs(user, tabs, order)
local epoch, version = '', 0
if added == 1 then
  epoch, version = current_version(candidate)
  version = tell_added(pub, chan, epoch, '-', user, info, hidden)
end
local changed = 0
if previous ~= status then changed = 1 end
return {'ok', added, epoch, version, changed}
)lua";

constexpr std::string_view kHeartbeatEnd = R"lua(
local node, user, tab, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local grace, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
local pub, chan, candidate = ARGV[7], ARGV[8], ARGV[9]
local now = now_ms()
local tabs, order = read_tabs(user)
local ended, left = 0, now
if mode == 'end_all' then
  for name, t in pairs(tabs) do
    if t[1] ~= 'x' then
      tabs[name] = nil
      ended = ended + 1
    end
  end
else
  local t = tabs[tab]
  if mode == 'end' then
    if t and t[1] ~= 'x' then ended = 1 end
    if not t then order[#order + 1] = tab end
    tabs[tab] = {'x', now + ttl, '-'}
  elseif not t then
    return {'gone'}
  elseif t[1] == 'x' then
    if t[2] > now then return {'wait', t[2]} end
    tabs[tab] = nil
  else
    local due = tonumber(t[1])
    if due > now then return {'wait', due} end
    tabs[tab] = nil
    ended, grace, left = 1, t[2], due
  end
end
write_tabs(user, tabs, order)
if ended == 0 then return {'gone'} end
local removed, grace_due, epoch, version =
  sessions_ended(user, ended, node, grace, now, left, pub, chan, candidate)
local empty = 0
if redis.call('EXISTS', K[1], K[7]) == 0 and tonumber(redis.call('GET', K[5]) or '0') <= 0 then
  empty = 1
end
forget_if_empty()
return {'ok', removed, grace_due, epoch, version, left, empty}
)lua";

std::string with_tabs(std::string_view body) {
  std::string text(kTabs);
  text.append(body);
  return text;
}

}  // namespace

const Script& heartbeat_script() {
  static const Script script =
      make_script("heartbeat", channel_script_prelude(), with_tabs(kHeartbeat));
  return script;
}

const Script& heartbeat_end_script() {
  static const Script script =
      make_script("heartbeat_end", channel_script_prelude(), with_tabs(kHeartbeatEnd));
  return script;
}

}  // namespace greendot::engine::redis_engine
