#!/bin/sh
# A self-signed certificate for the mail stack when none is given (make mailstack, the tests,
# docker-compose's first start): deploy/tls-selfsigned.sh CERT KEY HOSTNAME.
# An existing certificate is left alone; production sets TM_TLS_CERT/TM_TLS_KEY to real ones.
set -eu
cert=$1 key=$2 host=$3
[ -s "$cert" ] && [ -s "$key" ] && exit 0
mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
# Containers starting together share the files: one writes, the others find them.
exec 9>"$(dirname "$key")/.selfsigned.lock"
flock 9
[ -s "$cert" ] && [ -s "$key" ] && exit 0
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
  -subj "/CN=$host" -addext "subjectAltName=DNS:$host,DNS:localhost,IP:127.0.0.1" \
  -keyout "$key" -out "$cert" 2>/dev/null
chmod 644 "$cert"
echo "tls-selfsigned: wrote a self-signed certificate for $host to $cert" >&2
