-- tokens.lua: wrk script for `make bench`: each request carries the next token of a file, in turn,
-- as "Authorization: Bearer <token>". The requests are formatted once, in init(), so that wrk's
-- own cost per request stays as low as with -H.
--   wrk -s tests/bench/tokens.lua http://127.0.0.1:PORT/keyward/ok.json -- TOKENS_FILE

local requests = {}
local count = 0
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot read " .. tostring(args[1]))
  for token in file:lines() do
    if token ~= "" then
      count = count + 1
      requests[count] = wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. token })
    end
  end
  file:close()
  assert(count > 0, "no tokens in " .. args[1])
  -- Start each thread at a different place in the list.
  index = math.random(count) - 1
end

function request()
  index = index % count + 1
  return requests[index]
end
