-- wrk script: POST the file $BODY as application/json to the URL given on the command line.
wrk.method = "POST"
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

-- Counted per thread; done() sees thread-local state, so statuses travel through a shared table.
bad = 0  -- global: read back from each thread in done()
response = function(status)
  if status ~= 200 then bad = bad + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function()
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("bad") or 0) end
  print(total == 0 and "all 200" or ("non-200: " .. total))
end
