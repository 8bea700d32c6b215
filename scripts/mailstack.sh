#!/usr/bin/env bash
# `make mailstack`: Dovecot, Postfix and rspamd from deploy/ on loopback ports, pointed at the
# panel's mail directory (MAIL_ROOT, MAIL_DIRECTORY_URL, DKIM_KEY_DIR from the same settings the
# panel reads), plus the sending-limit policy service and, when installed,
# the webmail (Roundcube), DAV (Radicale) and XMPP (Prosody) servers (docs/services.md). Run the panel with MAIL_BACKEND=dovecot
# (make run) in another terminal; Ctrl-C here stops the mail stack.
#   IMAP 10143, POP3 10110, SMTP (incoming) 10025, submission (SMTP AUTH) 10587, all with
#   STARTTLS; IMAPS 10993, POP3S 10995, submissions 10465. A self-signed certificate is made
#   on the first run; passwords only over TLS unless TM_PLAINTEXT_AUTH=yes.
#   webmail http://127.0.0.1:10080, CalDAV/CardDAV http://127.0.0.1:10232, XMPP 10222.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
for bin in dovecot postfix doveadm rspamd openssl; do
  command -v "$bin" >/dev/null || { echo "mailstack: $bin is not installed (see README)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "mailstack: Dovecot and Postfix need root (sudo make mailstack)" >&2; exit 1; }

# Where the panel writes: read from its settings, so both sides agree.
eval "$($PY - <<'PYEOF'
import os, shlex
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tempusmail.settings")
import django
django.setup()
from django.conf import settings as s
for name, value in {
    "VAR_DIR": s.VAR_DIR, "MAIL_ROOT": s.MAIL_ROOT, "MAIL_DIRECTORY_URL": s.MAIL_DIRECTORY_URL,
    "DOVECOT_CONFIG": s.DOVECOT_CONFIG, "POLICY_REDIS_URL": s.POLICY_REDIS_URL,
    "DKIM_KEY_DIR": s.DKIM_KEY_DIR,
    "SERVICES_API_KEY": s.SERVICES_API_KEY,
}.items():
    print(f"{name}={shlex.quote(str(value))}")
PYEOF
)"
OUT="$(dirname "$DOVECOT_CONFIG")"
MAIL_UID="${MAIL_UID:-5000}"
POLICY_PORT="${POLICY_PORT:-10040}"

stop() {
  for pid in ${services_pids:-}; do kill "$pid" 2>/dev/null || true; done
  postfix -c "$OUT/postfix" stop 2>/dev/null || true
  doveadm -c "$OUT/dovecot.conf" stop 2>/dev/null || true
  [ -n "${policy:-}" ] && kill "$policy" 2>/dev/null || true
  [ -n "${rspamd:-}" ] && kill "$rspamd" 2>/dev/null || true
}
[ -f "$OUT/dovecot.conf" ] && stop  # a stack left running by an earlier run

mkdir -p "$OUT" "$MAIL_ROOT/mail" "$MAIL_ROOT/state"
chmod 755 "$OUT" "$MAIL_ROOT"
chown "$MAIL_UID:$MAIL_UID" "$MAIL_ROOT/mail" "$MAIL_ROOT/state"
# The key the webmail and DAV servers read the panel's settings with; the panel reads the same
# file when SERVICES_API_KEY is unset (restart a panel started before this file existed).
mkdir -p "$VAR_DIR"
if [ -z "$SERVICES_API_KEY" ]; then
  [ -s "$VAR_DIR/services-api-key" ] || (umask 077; $PY -c 'import secrets; print(secrets.token_urlsafe(32))' >"$VAR_DIR/services-api-key")
  SERVICES_API_KEY="$(cat "$VAR_DIR/services-api-key")"
fi
# The panel reaches this Dovecot over its doveadm HTTP API, as it reaches several hosts: the
# panel reads these two files when DOVEADM_HOSTS and DOVEADM_API_KEY are unset.
[ -s "$VAR_DIR/doveadm-api-key" ] || (umask 077; $PY -c 'import secrets; print(secrets.token_hex(24))' >"$VAR_DIR/doveadm-api-key")
echo "dev=http://127.0.0.1:${TM_DOVEADM_HTTP_PORT:-10808}" >"$VAR_DIR/doveadm-hosts"
# And Prosody's admin endpoint, where a user's chat sessions are closed when XMPP access goes.
[ -s "$VAR_DIR/xmpp-admin-key" ] || (umask 077; $PY -c 'import secrets; print(secrets.token_hex(24))' >"$VAR_DIR/xmpp-admin-key")
echo "http://127.0.0.1:${TM_XMPP_ADMIN_PORT:-10281}" >"$VAR_DIR/xmpp-admin-url"
[ -s "$OUT/roundcube-des-key" ] || (umask 077; mkdir -p "$OUT"; $PY -c 'import secrets; print(secrets.token_hex(12))' >"$OUT/roundcube-des-key")
RENDERED="$($PY deploy/render.py "$OUT" MAIL_ROOT="$MAIL_ROOT" \
  MAIL_DIRECTORY_URL="$MAIL_DIRECTORY_URL" DKIM_KEY_DIR="$DKIM_KEY_DIR" MAIL_UID="$MAIL_UID" \
  MAIL_GID="$MAIL_UID" POLICY_PORT="$POLICY_PORT" INSTANCE=dev \
  PANEL_URL="${PANEL_URL:-http://127.0.0.1:8000}" SERVICES_API_KEY="$SERVICES_API_KEY" \
  ROUNDCUBE_DES_KEY="$(cat "$OUT/roundcube-des-key")" \
  DOVEADM_API_KEY="$(cat "$VAR_DIR/doveadm-api-key")" XMPP_ADMIN_KEY="$(cat "$VAR_DIR/xmpp-admin-key")")"
value() { printf '%s\n' "$RENDERED" | sed -n "s/^$1=//p"; }
deploy/tls-selfsigned.sh "$(value TLS_CERT)" "$(value TLS_KEY)" "$(value HOSTNAME)"
MAIL_ROOT="$MAIL_ROOT" MAIL_DIRECTORY_URL="$MAIL_DIRECTORY_URL" $PY -m tempusmail.mailbackend.dovecot init

# The first start compiles rspamd's rules (up to a minute); its database in $OUT is kept.
sh "$OUT/rspamd/run.sh" &
rspamd=$!
dovecot -c "$OUT/dovecot.conf"
postfix -c "$OUT/postfix" start
$PY -m tempusmail.policy --listen "127.0.0.1:$POLICY_PORT" --redis "$POLICY_REDIS_URL" &
policy=$!

# Webmail, DAV and XMPP: each only if installed (README, "Webmail, DAV and XMPP").
services_pids=""
services_info=""
if command -v php >/dev/null && [ -f /usr/share/roundcube/index.php ]; then
  public="$($PY deploy/roundcube/tree.py "$OUT/roundcube" "$OUT/roundcube/config.inc.php")"
  php -S 127.0.0.1:10080 -t "$public" >"$OUT/log/roundcube.log" 2>&1 &
  services_pids="$services_pids $!"
  services_info="$services_info  Webmail     http://127.0.0.1:10080  (Roundcube; the account's Webmail service)\n"
else
  services_info="$services_info  Webmail     not started: apt-get install roundcube-core roundcube-sqlite3 php-cli php-sqlite3\n"
fi
if $PY -c 'import radicale' 2>/dev/null; then
  mkdir -p "$MAIL_ROOT/dav"
  PYTHONPATH=deploy/radicale $PY -m radicale --config "$OUT/radicale/config" >"$OUT/log/radicale.log" 2>&1 &
  services_pids="$services_pids $!"
  services_info="$services_info  CalDAV/CardDAV http://127.0.0.1:10232/<address>/  (Radicale; the DAV service)\n"
else
  services_info="$services_info  DAV         not started: pip install radicale (the dav extra)\n"
fi
if command -v prosody >/dev/null && [ -d /usr/lib/prosody/modules/mod_auth_dovecot ]; then
  mkdir -p "$MAIL_ROOT/xmpp/data"
  chown -R prosody:prosody "$MAIL_ROOT/xmpp"
  setpriv --reuid=prosody --regid=prosody --init-groups prosody -F --config "$OUT/prosody/prosody.cfg.lua" \
    >"$OUT/log/prosody.log" 2>&1 &
  services_pids="$services_pids $!"
  services_info="$services_info  XMPP        127.0.0.1:10222   (Prosody; JID = the address; the XMPP service)\n"
else
  services_info="$services_info  XMPP        not started: apt-get install prosody prosody-modules\n"
fi
trap 'stop; exit 0' INT TERM
trap stop EXIT
echo "Waiting for rspamd (log: $OUT/log/rspamd/rspamd.log)..."
$PY - "$(value RSPAMD_NORMAL_PORT)" <<'PYEOF'
import sys, time, urllib.request
deadline = time.monotonic() + 180
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/ping", timeout=2) as r:
            if r.read().strip() == b"pong":
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit("rspamd did not start")
PYEOF
cat <<INFO
Mail stack running (Ctrl-C stops it). Logs: $OUT/log/dovecot.log, $OUT/log/rspamd/,
syslog for Postfix.
  IMAP        127.0.0.1:10143   (STARTTLS; normal password)   IMAPS        127.0.0.1:10993
  POP3        127.0.0.1:10110   (STARTTLS)                    POP3S        127.0.0.1:10995
  SMTP in     127.0.0.1:10025   (spam verdict by rspamd)
  Submission  127.0.0.1:10587   (STARTTLS, SMTP AUTH with the mailbox address and password;
                                 DKIM-signed)                 submissions  127.0.0.1:10465
  Certificate: $(value TLS_CERT) (self-signed: accept it once in the client)
$(printf "%b" "$services_info")
  Mail directory: $MAIL_DIRECTORY_URL
Start the panel with MAIL_BACKEND=dovecot (e.g. MAIL_BACKEND=dovecot make run), then
run '.venv/bin/python manage.py verify_backend --repair' once to push existing accounts.
INFO
wait "$policy"
