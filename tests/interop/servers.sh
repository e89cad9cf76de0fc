# shellcheck shell=bash
# Server starters for the interop tests (sourced by lib.sh). Each starts one real server in the background
# on 127.0.0.1/::1 or a Unix socket under $WORK, on a free port, waits until it accepts, registers its PID
# with track_pid, and sets globals naming where it listens and where it stores what it receives.
# Binaries come from scripts/install-test-deps.sh (Postfix and Exim unpacked into $SERVERS_DIR).
# Each server runs under setsid, in a process group of its own that stop_server ends as a whole.

# Fixed test credentials, the only ones the AUTH-capable servers accept.
TEST_USER=alice
TEST_PASSWORD=s3cret

# make_certs: a throw-away CA ($TLS_DIR/ca.pem, what --tls-trust-file is given) and a server certificate
# signed by it for localhost, 127.0.0.1 and ::1. A real chain rather than one self-signed certificate,
# because WebPKI verifiers refuse a CA certificate presented as the server's own.
make_certs() {
	TLS_DIR="$WORK/tls"
	[ -s "$TLS_DIR/server.pem" ] && return 0
	mkdir -p "$TLS_DIR"
	cat >"$TLS_DIR/ca.cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = ca_ext
prompt = no
[dn]
CN = mailsend interop test CA
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
	cat >"$TLS_DIR/server.ext" <<'EOF'
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	openssl req -x509 -config "$TLS_DIR/ca.cnf" "${ec[@]}" -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" \
		-days 2 &&
		openssl req -new "${ec[@]}" -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" -subj /CN=localhost &&
		openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca.key" \
			-set_serial 2 -days 2 -extfile "$TLS_DIR/server.ext" -out "$TLS_DIR/server.pem" || return 1
	# Exim reads its key after dropping to Debian-exim; this key protects nothing.
	chmod 644 "$TLS_DIR/server.key"
}

# start_sink [SMTP-SINK FLAGS...]: Postfix smtp-sink on 127.0.0.1:$SINK_PORT, one dump file per message
# in $SINK_DIR (read them with `strip_server_headers sink FILE`). Fault flags go straight through:
# -q CMDS hang up, -Q CMDS 421 and hang up, -r CMDS 4xx, -f CMDS 5xx, -A DELAY 550 during DATA,
# -w DELAY slow DATA reply, -W CMD:DELAY, -8 no 8BITMIME, -p no PIPELINING, -L LMTP.
start_sink() {
	local sink="$SERVERS_DIR/postfix/usr/sbin/smtp-sink" user=()
	[ -x "$sink" ] || {
		echo "$sink missing: run scripts/install-test-deps.sh"
		return 1
	}
	# As root smtp-sink insists on dropping privileges (-u); the dump directory must then be writable.
	[ "$(id -u)" -eq 0 ] && user=(-u nobody)
	SINK_PORT="$(free_port)" || return 1
	SINK_DIR="$(mktemp -d "$WORK/sink.XXXXXX")" && chmod 777 "$SINK_DIR" || return 1
	LD_LIBRARY_PATH="$SERVERS_DIR/postfix/usr/lib/postfix" setsid "$sink" "${user[@]}" -d "$SINK_DIR/%H%M%S." "$@" \
		"127.0.0.1:$SINK_PORT" 64 >"$SINK_DIR.log" 2>&1 &
	SINK_PID=$!
	track_pid "$SINK_PID"
	wait_tcp 127.0.0.1 "$SINK_PORT" "$SINK_PID" || {
		cat "$SINK_DIR.log"
		return 1
	}
}

# start_aiosmtpd [aiosmtpd_server.py OPTIONS...]: on 127.0.0.1:$AIO_PORT (or the --unix PATH given),
# storing N.eml (data as received, CRLF) and N.env (envelope) in $AIO_STORE.
start_aiosmtpd() {
	local unix="" a
	for a in "$@"; do
		if [ "$unix" = next ]; then unix="$a"; fi
		if [ "$a" = --unix ]; then unix=next; fi
	done
	AIO_PORT="$(free_port)" || return 1
	AIO_STORE="$(mktemp -d "$WORK/aiosmtpd.XXXXXX")" || return 1
	setsid "$PYTHON" "$INTEROP_DIR/aiosmtpd_server.py" --port "$AIO_PORT" --store "$AIO_STORE" "$@" \
		>"$AIO_STORE.log" 2>&1 &
	AIO_PID=$!
	track_pid "$AIO_PID"
	if [ -n "$unix" ]; then
		wait_unix "$unix" "$AIO_PID" || {
			cat "$AIO_STORE.log"
			return 1
		}
	else
		wait_tcp 127.0.0.1 "$AIO_PORT" "$AIO_PID" || {
			cat "$AIO_STORE.log"
			return 1
		}
	fi
}

# start_exim [SED-EXPRESSION...]: Exim 4.96 on 127.0.0.1 and ::1 port $EXIM_PORT, which is
# $EXIM_LISTEN_PORT when set (the queue group points mailsend at it while nothing listens there yet),
# else a free one; STARTTLS with the make_certs chain; AUTH PLAIN, LOGIN and CRAM-MD5 for
# $TEST_USER/$TEST_PASSWORD, offered only after TLS; SMTPUTF8, CHUNKING, PIPELINING. Local users alice,
# bob and jösé (stored as jose) @example.org get Maildirs under $EXIM_DIR/mail/USER/Maildir;
# team@example.org is an alias for alice and bob (for EXPN); anyone else is refused at RCPT. VRFY and
# EXPN are answered; messages up to 200 MB, 100 connections at once, every message delivered at once.
# Its Received field names the protocol (esmtpsa = ESMTP + TLS + AUTH, utf8 prefix with SMTPUTF8), the
# login and the authenticator used.
# Optional SED-EXPRESSIONs edit the filled-in configuration (the queue-flush benchmark's variants); each
# must change a line, or the start fails. EXIM_QUEUE_RUNS is the daemon's queue-runner interval (default
# 1m; empty: no queue runner).
start_exim() {
	local exim="$SERVERS_DIR/exim4/usr/sbin/exim4"
	[ -x "$exim" ] || {
		echo "$exim missing: run scripts/install-test-deps.sh"
		return 1
	}
	[ "$(id -u)" -eq 0 ] || {
		echo "Exim's daemon needs root (it runs deliveries as Debian-exim)"
		return 1
	}
	make_certs || return 1
	EXIM_PORT="${EXIM_LISTEN_PORT:-$(free_port)}" || return 1
	EXIM_DIR="$(mktemp -d "$WORK/exim.XXXXXX")" && chmod 755 "$EXIM_DIR" || return 1
	mkdir -p "$EXIM_DIR/spool" "$EXIM_DIR/log" "$EXIM_DIR/mail"
	chown Debian-exim:Debian-exim "$EXIM_DIR/spool" "$EXIM_DIR/log" "$EXIM_DIR/mail" || return 1
	printf 'alice: alice\nbob: bob\njösé: jose\n' >"$EXIM_DIR/users"
	printf 'team: alice@example.org, bob@example.org\n' >"$EXIM_DIR/aliases"
	# Exim refuses a configuration that others could write; its directory must be reachable after
	# Exim re-executes itself as Debian-exim ("lost privilege for using -C option").
	sed -e "s|@EXIM@|$exim|g" -e "s|@DIR@|$EXIM_DIR|g" -e "s|@PORT@|$EXIM_PORT|g" \
		-e "s|@TLS@|$TLS_DIR|g" -e "s|@USER@|$TEST_USER|g" -e "s|@PASSWORD@|$TEST_PASSWORD|g" \
		"$INTEROP_DIR/exim.conf.in" >"$EXIM_DIR/exim.conf"
	local expr runs=()
	for expr in "$@"; do
		sed -e "$expr" "$EXIM_DIR/exim.conf" >"$EXIM_DIR/exim.conf.new" || return 1
		if cmp -s "$EXIM_DIR/exim.conf" "$EXIM_DIR/exim.conf.new"; then
			echo "start_exim: sed '$expr' changed nothing in exim.conf.in"
			return 1
		fi
		mv "$EXIM_DIR/exim.conf.new" "$EXIM_DIR/exim.conf"
	done
	chmod 644 "$EXIM_DIR/exim.conf"
	[ -n "${EXIM_QUEUE_RUNS-1m}" ] && runs=(-q"${EXIM_QUEUE_RUNS-1m}")
	setsid "$exim" -C "$EXIM_DIR/exim.conf" -bdf "${runs[@]}" >"$EXIM_DIR/daemon.log" 2>&1 &
	EXIM_PID=$!
	track_pid "$EXIM_PID"
	if ! { wait_tcp 127.0.0.1 "$EXIM_PORT" "$EXIM_PID" && wait_tcp ::1 "$EXIM_PORT" "$EXIM_PID"; }; then
		cat "$EXIM_DIR/daemon.log" "$EXIM_DIR/log/"* 2>/dev/null
		return 1
	fi
}

# exim_maildir USER: the directory where new mail for USER lands.
exim_maildir() { echo "$EXIM_DIR/mail/$1/Maildir/new"; }

# start_dovecot: Dovecot LMTP on 127.0.0.1:$DOVECOT_PORT and on the Unix socket $DOVECOT_SOCKET; users
# alice, bob and carol (@example.org or bare) with Maildirs under $DOVECOT_DIR/mail/USER/Maildir; any
# other user gets 550 5.1.1 at RCPT. carol is over quota: her reply after the data is a failure.
start_dovecot() {
	command -v dovecot >/dev/null || {
		echo "dovecot missing: run scripts/install-test-deps.sh"
		return 1
	}
	[ "$(id -u)" -eq 0 ] || {
		echo "Dovecot's master needs root here (it switches to the mail user per delivery)"
		return 1
	}
	DOVECOT_PORT="$(free_port)" || return 1
	DOVECOT_DIR="$(mktemp -d "$WORK/dovecot.XXXXXX")" && chmod 755 "$DOVECOT_DIR" || return 1
	mkdir -p "$DOVECOT_DIR/base" "$DOVECOT_DIR/state" "$DOVECOT_DIR/mail"
	# Deliveries run as nobody (uid/gid 65534 in the userdb), which must create the Maildirs.
	chmod 777 "$DOVECOT_DIR/mail"
	local u
	for u in alice bob carol; do
		printf '%s::65534:65534::%s/mail/%s::' "$u" "$DOVECOT_DIR" "$u"
		if [ "$u" = carol ]; then printf 'userdb_quota_rule=*:bytes=1'; fi
		printf '\n'
	done >"$DOVECOT_DIR/users"
	sed -e "s|@DIR@|$DOVECOT_DIR|g" -e "s|@PORT@|$DOVECOT_PORT|g" \
		"$INTEROP_DIR/dovecot.conf.in" >"$DOVECOT_DIR/dovecot.conf"
	DOVECOT_SOCKET="$DOVECOT_DIR/base/lmtp"
	setsid dovecot -F -c "$DOVECOT_DIR/dovecot.conf" >"$DOVECOT_DIR/master.log" 2>&1 &
	DOVECOT_PID=$!
	track_pid "$DOVECOT_PID"
	if ! { wait_tcp 127.0.0.1 "$DOVECOT_PORT" "$DOVECOT_PID" && wait_unix "$DOVECOT_SOCKET" "$DOVECOT_PID"; }; then
		cat "$DOVECOT_DIR/master.log" "$DOVECOT_DIR/dovecot.log" 2>/dev/null
		return 1
	fi
}

# dovecot_maildir USER: the directory where new mail for USER lands.
dovecot_maildir() { echo "$DOVECOT_DIR/mail/$1/Maildir/new"; }
