-- One wrk script for every SCIM scenario of bench/bench_scim_api.py, for both servers.
--
--   wrk -t2 -c16 -d10s -s bench/wrk/scim.lua http://127.0.0.1:PORT -- \
--       SCENARIO BASE_PATH TOKEN DATA_DIR OFFSET THREADS RUN_TAG
--
-- Request i of thread t uses index OFFSET + t + k * THREADS, so no two requests of one run
-- (nor of two runs with increasing OFFSETs) create the same userName or delete the same id.
-- DATA_DIR holds the ids the server was seeded with, one per line: users.txt (members of the big
-- group), extra.txt (users in no group: new members), delete.txt (users to delete),
-- small_groups.txt (groups of 10) and big_group.txt (the 100,000-member group).
-- done() prints one line "WRKJSON {...}" with counts and latency percentiles (microseconds).

local thread_list = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(thread_list, thread)
end

local function read_lines(path)
  local out = {}
  local file = io.open(path, "r")
  if file == nil then return out end
  for line in file:lines() do
    if #line > 0 then out[#out + 1] = line end
  end
  file:close()
  return out
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
local USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
local GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

function init(args)
  scenario, base, token, datadir = args[1], args[2], args[3], args[4]
  offset, nthreads, tag = tonumber(args[5]), tonumber(args[6]), args[7]
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/scim+json",
    ["Accept"] = "application/scim+json",
  }
  users = read_lines(datadir .. "/users.txt")
  extra = read_lines(datadir .. "/extra.txt")
  deletable = read_lines(datadir .. "/delete.txt")
  small_groups = read_lines(datadir .. "/small_groups.txt")
  big_group = read_lines(datadir .. "/big_group.txt")[1]
  k = 0
  counter = offset + tid
end

local function pick(list, i)
  return list[(i % #list) + 1]
end

local builders = {}

builders["post_users"] = function(i)
  local name = "new-" .. tag .. "-" .. i .. "@contoso.com"
  local body = '{"schemas":["' .. USER_SCHEMA .. '"],"externalId":"new-' .. tag .. "-" .. i ..
    '","userName":"' .. name .. '","active":true,"name":{"givenName":"New","familyName":"User' ..
    i .. '"},"emails":[{"primary":true,"type":"work","value":"' .. name .. '"}]}'
  return wrk.format("POST", base .. "/Users", headers, body)
end

builders["post_groups"] = function(i)
  local body = '{"schemas":["' .. GROUP_SCHEMA .. '"],"externalId":"g-' .. tag .. "-" .. i ..
    '","displayName":"Group ' .. tag .. " " .. i .. '"}'
  return wrk.format("POST", base .. "/Groups", headers, body)
end

builders["filter_username"] = function(i)
  local filter = 'userName eq "user' .. (i % #users) .. '@contoso.com"'
  return wrk.format("GET", base .. "/Users?filter=" .. urlencode(filter), headers)
end

builders["get_user"] = function(i)
  return wrk.format("GET", base .. "/Users/" .. pick(users, i), headers)
end

builders["patch_user"] = function(i)
  local body = '{"schemas":["' .. PATCH_OP .. '"],"Operations":[{"op":"Replace",' ..
    '"path":"name.familyName","value":"Family ' .. tag .. " " .. i .. '"}]}'
  return wrk.format("PATCH", base .. "/Users/" .. pick(users, i), headers, body)
end

local function member_add(group, i)
  local body = '{"schemas":["' .. PATCH_OP .. '"],"Operations":[{"op":"Add","path":"members",' ..
    '"value":[{"value":"' .. pick(extra, i) .. '"}]}]}'
  return wrk.format("PATCH", base .. "/Groups/" .. group, headers, body)
end

builders["member_add_small"] = function(i)
  return member_add(pick(small_groups, i), i)
end

-- Every client adds to the same 10-member group: the same contention on one group as the big
-- group's scenario, so that the two differ by the group's size alone.
builders["member_add_one_small"] = function(i)
  return member_add(small_groups[1], i)
end

builders["member_add_big"] = function(i)
  return member_add(big_group, i)
end

builders["list_page"] = function(i)
  local start = (i * 100) % #users + 1
  return wrk.format("GET", base .. "/Users?startIndex=" .. start .. "&count=100", headers)
end

builders["delete_user"] = function(i)
  return wrk.format("DELETE", base .. "/Users/" .. pick(deletable, i), headers)
end

function request()
  local i = counter
  counter = counter + nthreads
  return builders[scenario](i)
end

function done(summary, latency, requests)
  local last = 0
  for _, thread in ipairs(thread_list) do
    local c = thread:get("counter")
    if c ~= nil and c > last then last = c end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"max_us":%d,"last_index":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max, last))
end
