#!/bin/sh
# docker-compose entrypoint of the mail image: render deploy/ into /etc/tempusmail with the
# TM_* variables, then run one role in the foreground: dovecot | postfix | rspamd | policy |
# worker | webmail | dav | xmpp (docs/services.md).
set -eu
CONF=/etc/tempusmail
MAIL_UID="${TM_MAIL_UID:-5000}"
RENDERED="$(python /app/deploy/render.py "$CONF")"
value() { printf '%s\n' "$RENDERED" | sed -n "s/^$1=//p"; }
mkdir -p "${MAIL_ROOT}/mail" "${MAIL_ROOT}/state"
chmod 755 "${MAIL_ROOT}"
chown "$MAIL_UID:$MAIL_UID" "${MAIL_ROOT}/mail" "${MAIL_ROOT}/state"
case "${1:-}" in
  dovecot|postfix)  # a self-signed certificate until TM_TLS_CERT/TM_TLS_KEY name real ones
    /app/deploy/tls-selfsigned.sh "$(value TLS_CERT)" "$(value TLS_KEY)" "$(value HOSTNAME)" ;;
esac
case "${1:-}" in
  dovecot) exec dovecot -F -c "$CONF/dovecot.conf" ;;
  postfix) exec postfix -c "$CONF/postfix" start-fg ;;
  rspamd) exec sh "$CONF/rspamd/run.sh" ;;
  policy) exec python -m tempusmail.policy --listen "0.0.0.0:${TM_POLICY_PORT:-10040}" \
            --redis "$POLICY_REDIS_URL" ;;
  worker)
    python -m tempusmail.mailbackend.dovecot init
    exec celery -A tempusmail worker -l info ;;
  webmail)
    # PHP's built-in server with a few workers; behind a TLS proxy (or PHP-FPM) in production.
    public="$(python /app/deploy/roundcube/tree.py "${TM_ROUNDCUBE_DIR:-$CONF/roundcube}" \
              "$CONF/roundcube/config.inc.php")"
    export PHP_CLI_SERVER_WORKERS="${PHP_CLI_SERVER_WORKERS:-4}"
    exec php -S "0.0.0.0:${TM_WEBMAIL_PORT:-10080}" -t "$public" ;;
  dav)
    mkdir -p "${MAIL_ROOT}/dav"
    PYTHONPATH=/app/deploy/radicale exec python -m radicale --config "$CONF/radicale/config" ;;
  xmpp)
    mkdir -p "${MAIL_ROOT}/xmpp/data"
    chown -R prosody:prosody "${MAIL_ROOT}/xmpp"
    exec setpriv --reuid=prosody --regid=prosody --init-groups \
      prosody -F --config "$CONF/prosody/prosody.cfg.lua" ;;
  *) exec "$@" ;;
esac
