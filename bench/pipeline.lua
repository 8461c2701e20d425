-- bench/pipeline.lua: make wrk pipeline requests: each write carries
-- `depth` GETs of the URL's path (default 16), and wrk counts each
-- response as one request.
--
--   wrk -t1 -c100 -d5s --latency -s bench/pipeline.lua URL -- 16
local depth = 16
local req

init = function(args)
   depth = tonumber(args[1]) or depth
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil, wrk.path)
   end
   req = table.concat(r)
end

request = function()
   return req
end
