-- wrk script: GET with the bearer token from $PKJWT_BENCH_TOKEN and a new
-- UUIDv4 X-Request-ID on every request (PDS requires one). The same script
-- drives the emulator and the static nginx file, so both get the same
-- request and wrk spends the same on each.
local token = os.getenv("PKJWT_BENCH_TOKEN") or ""
local hex = "0123456789abcdef"
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("seed", counter)
end

function init(args)
	math.randomseed(os.time() + (seed or 0) * 7919)
end

local function uuid4()
	local t = {}
	for i = 1, 36 do
		if i == 9 or i == 14 or i == 19 or i == 24 then
			t[i] = "-"
		elseif i == 15 then
			t[i] = "4"
		elseif i == 20 then
			local r = math.random(9, 12)
			t[i] = hex:sub(r, r)
		else
			local r = math.random(1, 16)
			t[i] = hex:sub(r, r)
		end
	end
	return table.concat(t)
end

function request()
	return wrk.format(nil, nil, {
		["Authorization"] = "Bearer " .. token,
		["X-Request-ID"] = uuid4(),
		["Accept"] = "application/fhir+json",
	})
end
