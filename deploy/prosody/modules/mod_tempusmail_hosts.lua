-- TempusMail: serve the mail domains the adapter lists, without a restart.
-- The mail adapter rewrites tempusmail_hosts_file (VirtualHost lines) when domains come and
-- go; every few seconds this module compares it with what it last saw and, on a change,
-- reloads the configuration, activates the new hosts and deactivates the removed ones.
module:set_global();

local configmanager = require "core.configmanager";
local hostmanager = require "core.hostmanager";

local file = module:get_option_string("tempusmail_hosts_file");
local interval = module:get_option_number("tempusmail_hosts_interval", 2);

local function read(path)
	local handle = io.open(path, "r");
	if not handle then return nil; end
	local text = handle:read("*a");
	handle:close();
	return text;
end

local seen = file and read(file);

local function apply()
	local ok, err = prosody.reload_config();
	if not ok then
		module:log("error", "could not reload the configuration: %s", tostring(err));
		return;
	end
	local wanted = configmanager.getconfig();
	for host, host_config in pairs(wanted) do
		if host ~= "*" and not prosody.hosts[host] and host_config.enabled ~= false then
			hostmanager.activate(host);
		end
	end
	for host in pairs(prosody.hosts) do
		if not rawget(wanted, host) then
			hostmanager.deactivate(host, "This domain is no longer served here");
		end
	end
end

if file then
	module:add_timer(interval, function ()
		local text = read(file);
		if text ~= seen then
			seen = text;
			apply();
		end
		return interval;
	end);
end
