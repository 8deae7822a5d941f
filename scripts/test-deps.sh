#!/usr/bin/env bash
# Makes sure what the test suites need is here and running: a PostgreSQL
# server on 127.0.0.1:5432, Debian's Chromium, nginx, Caddy and
# docker-compose (for its schema check of the compose file). Installs
# what is missing (Debian/Ubuntu, as root or with sudo) and fails loudly
# when it cannot, because no suite may be skipped.
set -euo pipefail

sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
apt_updated=""
apt_install() {
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "test-deps: cannot install $* (no apt-get); install it by hand" >&2
		exit 1
	fi
	if [ -z "$apt_updated" ]; then
		$sudo_cmd apt-get update -qq
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "$@" >/dev/null
}

# PostgreSQL: only when the tests use the default local server.
if [ -z "${GATEHOUSE_TEST_POSTGRES_DSN:-}" ]; then
	if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
		if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
			echo "test-deps: installing PostgreSQL" >&2
			apt_install postgresql postgresql-client
			ver=$(ls /etc/postgresql | sort -V | tail -1)
			# Local trust auth on loopback, as the test DSN expects.
			hba=/etc/postgresql/$ver/main/pg_hba.conf
			$sudo_cmd sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+postgres\s+)\S+/\1trust/' "$hba"
		fi
		ver=$(ls /etc/postgresql | sort -V | tail -1)
		echo "test-deps: starting PostgreSQL $ver" >&2
		$sudo_cmd pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
		for _ in $(seq 1 30); do
			pg_isready -q -h 127.0.0.1 -p 5432 && break
			sleep 1
		done
		if ! pg_isready -q -h 127.0.0.1 -p 5432; then
			echo "test-deps: PostgreSQL did not come up on 127.0.0.1:5432" >&2
			exit 1
		fi
	fi
	if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
		psql -h 127.0.0.1 -U postgres -d postgres -c 'create database test' >/dev/null
	fi
fi

# Chromium for the browser tests.
if [ -z "${GATEHOUSE_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then
	echo "test-deps: installing Chromium" >&2
	apt_install chromium
fi
# nginx and Caddy for the forward-auth tests, which run them as their own
# child processes on loopback. The packages' system services are not used:
# stop them if the install started one, so port 80 stays free.
for bin in nginx caddy; do
	if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then
		echo "test-deps: installing $bin" >&2
		# Keep the package from starting its service (and failing when
		# port 80 is taken) for the length of the install.
		own_policy=""
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
			$sudo_cmd chmod +x /usr/sbin/policy-rc.d
			own_policy=1
		fi
		apt_install "$bin"
		if [ -n "$own_policy" ]; then $sudo_cmd rm -f /usr/sbin/policy-rc.d; fi
		if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
			$sudo_cmd systemctl disable --now "$bin" >/dev/null 2>&1 || true
		elif command -v service >/dev/null 2>&1; then
			$sudo_cmd service "$bin" stop >/dev/null 2>&1 || true
		fi
	fi
done
# docker-compose validates deploy/compose/compose.yaml against the Compose
# schema (deploy/deploy_test.go); `config` needs no Docker engine.
if ! command -v docker-compose >/dev/null 2>&1; then
	echo "test-deps: installing docker-compose" >&2
	apt_install docker-compose
fi
echo "test-deps: PostgreSQL, Chromium, nginx, Caddy and docker-compose ready" >&2
