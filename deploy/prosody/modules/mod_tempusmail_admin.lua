-- TempusMail: the mail adapter ends a user's XMPP sessions here when the user's XMPP access
-- goes (the service turned off, the account deactivated or deleted): new logins are refused
-- by Dovecot's passdb, and this closes the sessions already open.
--   POST /tempusmail/kick   Authorization: Bearer <tempusmail_admin_key>
--   body: one address (bare JID) per line; answer: the number of sessions closed.
local hashes = require "util.hashes";
local jid_prep = require "util.jid".prep;

local key = module:get_option_string("tempusmail_admin_key", "");

module:depends("http");

local function authorized(request)
	local given = (request.headers.authorization or ""):match("^Bearer%s+(%S+)$");
	return #key >= 16 and given ~= nil and hashes.equals(given, key);
end

local function kick(event)
	local request, response = event.request, event.response;
	if not authorized(request) then
		return 401;
	end
	local closed = 0;
	for line in (request.body or ""):gmatch("[^\r\n]+") do
		local jid = jid_prep(line);
		local user = jid and prosody.bare_sessions[jid];
		if user then
			for _, session in pairs(user.sessions) do
				session:close({ condition = "not-authorized", text = "Your XMPP access was turned off" });
				closed = closed + 1;
			end
		end
	end
	module:log("info", "closed %d session(s)", closed);
	response.headers.content_type = "text/plain";
	return tostring(closed);
end

module:provides("http", {
	default_path = "/tempusmail";
	route = { ["POST /kick"] = kick };
});
