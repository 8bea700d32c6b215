#!/bin/sh
# docker-compose entrypoint of the mail image: render deploy/ into /etc/tempusmail with the
# TM_* variables, then run one role in the foreground: dovecot | postfix | policy | worker.
set -eu
CONF=/etc/tempusmail
MAIL_UID="${TM_MAIL_UID:-5000}"
python /app/deploy/render.py "$CONF" >/dev/null
mkdir -p "${MAIL_ROOT}/mail" "${MAIL_ROOT}/state" "${MAIL_ROOT}/sieve"
chmod 755 "${MAIL_ROOT}"
chown "$MAIL_UID:$MAIL_UID" "${MAIL_ROOT}/mail" "${MAIL_ROOT}/state"
case "${1:-}" in
  dovecot) exec dovecot -F -c "$CONF/dovecot.conf" ;;
  postfix) exec postfix -c "$CONF/postfix" start-fg ;;
  policy) exec python -m tempusmail.policy --listen "0.0.0.0:${TM_POLICY_PORT:-10040}" \
            --redis "$POLICY_REDIS_URL" ;;
  worker)
    python -m tempusmail.mailbackend.dovecot init
    exec celery -A tempusmail worker -l info ;;
  *) exec "$@" ;;
esac
