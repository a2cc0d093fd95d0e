#!/usr/bin/env bash
# tomcat.sh: a private Debian Tomcat 10.1 on loopback, for load's tests and
# benchmarks. Run as root (apt-get); nothing listens beyond 127.0.0.1.
#
#   tomcat.sh install
#       Install tomcat10-user, tomcat10-admin and tomcat10-examples (and a
#       JDK if javac is missing) with apt-get, unless already there.
#       Exit 3: this machine cannot install them (no apt-get, not root).
#
#   tomcat.sh start --dir DIR --port PORT [--users N] [--password PW]
#                   [--examples SETTINGS] [--app NAME[:SETTINGS]]...
#                   [--examples-app NAME[:SETTINGS]]... [--owner PID]
#                   [--max-threads N] [--java-opts "OPTS"]
#       Create an instance in DIR (which must not exist yet) listening on
#       127.0.0.1:PORT, with users user1..userN (password PW, default
#       "secret", role tomcat), a manager-script and a manager-jmx user with
#       generated passwords, the stock manager and examples apps, and the
#       sessionapp (compiled here) deployed as /NAME for each --app.
#       SETTINGS is a comma list of max=N (maxActiveSessions),
#       timeout=MINUTES (session timeout) and expires=N
#       (processExpiresFrequency), e.g. --app capped:max=300 or
#       --app short:timeout=1,expires=1. (--examples timeout=M sets the
#       instance's default session timeout, which the examples app uses.)
#       --examples-app deploys another copy of the stock examples app as
#       /NAME; its SETTINGS may also hold authtimeout=SECONDS (a
#       FormAuthenticator valve with that authenticationSessionTimeout)
#       and cookies=false (sessions tracked by URL rewriting only).
#       Start `catalina.sh run` in the background, wait until every app
#       answers, and print KEY=VALUE lines (PID, URL, PORT, DIR, USERS,
#       PASSWORD, SCRIPT_USER, SCRIPT_PASSWORD, JMX_USER, JMX_PASSWORD),
#       also written to DIR/instance.env. With --owner, a watchdog stops
#       Tomcat when process PID (e.g. a test binary) is gone. --max-threads
#       sets the HTTP connector's maxThreads; --java-opts the JVM's options
#       (CATALINA_OPTS, e.g. "-Xmx256m").
#
#   tomcat.sh stop DIR
#       Stop the Tomcat started in DIR (by its PID, after checking that the
#       process is that instance's JVM).
set -euo pipefail

CATALINA_HOME=/usr/share/tomcat10
SERVLET_API=/usr/share/java/tomcat10-servlet-api.jar
EXAMPLES=/usr/share/tomcat10-examples/examples
MANAGER=/usr/share/tomcat10-admin/manager
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "tomcat.sh: $*" >&2; exit 1; }

installed() {
	[ -x "$CATALINA_HOME/bin/catalina.sh" ] && [ -d "$EXAMPLES" ] && [ -d "$MANAGER" ] &&
		[ -f "$SERVLET_API" ] && command -v tomcat10-instance-create >/dev/null &&
		command -v java >/dev/null && command -v javac >/dev/null
}

cmd_install() {
	if installed; then
		echo "tomcat.sh: Tomcat 10.1 is installed"
		return 0
	fi
	if ! command -v apt-get >/dev/null; then
		echo "tomcat.sh: cannot install Tomcat: no apt-get (Debian's tomcat10 packages are needed)" >&2
		exit 3
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "tomcat.sh: cannot install Tomcat: apt-get needs root" >&2
		exit 3
	fi
	local pkgs=(tomcat10-user tomcat10-admin tomcat10-examples)
	command -v javac >/dev/null || pkgs+=(default-jdk-headless)
	echo "tomcat.sh: installing ${pkgs[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# Serialize with any other installer started by a parallel test binary.
	(
		flock 9
		installed && exit 0
		apt-get update -q
		apt-get install -y -q --no-install-recommends "${pkgs[@]}"
	) 9>/tmp/load-tomcat-install.lock
	installed || die "the packages installed, but Tomcat's files are still missing"
}

# settings NAME SPEC: parse "max=N,timeout=M,expires=F,authtimeout=S,cookies=false"
# into S_MAX, S_TIMEOUT, S_EXPIRES, S_AUTH, S_COOKIES.
settings() {
	S_MAX=-1 S_TIMEOUT=30 S_EXPIRES=6 S_AUTH="" S_COOKIES=true
	local kv
	IFS=, read -r -a kvs <<<"$2"
	for kv in "${kvs[@]}"; do
		case "$kv" in
		max=*) S_MAX=${kv#max=} ;;
		timeout=*) S_TIMEOUT=${kv#timeout=} ;;
		expires=*) S_EXPIRES=${kv#expires=} ;;
		authtimeout=*) S_AUTH=${kv#authtimeout=} ;;
		cookies=false) S_COOKIES=false ;;
		"") ;;
		*) die "$1: unknown setting '$kv' (want max=N, timeout=MINUTES, expires=N, authtimeout=SECONDS, cookies=false)" ;;
		esac
	done
	[[ "$S_MAX" =~ ^-?[0-9]+$ && "$S_TIMEOUT" =~ ^-?[0-9]+$ && "$S_EXPIRES" =~ ^[0-9]+$ && "$S_AUTH" =~ ^[0-9]*$ ]] ||
		die "$1: settings must be integers: '$2'"
}

# examples_xml NAME: the context file of a copy of the examples app for
# the current settings.
examples_xml() {
	echo "<Context docBase=\"$EXAMPLES\" cookies=\"$S_COOKIES\">"
	echo '  <Resources allowLinking="true"/>'
	manager_xml
	if [ -n "$S_AUTH" ]; then
		echo "  <Valve className=\"org.apache.catalina.authenticator.FormAuthenticator\" authenticationSessionTimeout=\"$S_AUTH\"/>"
	fi
	echo '</Context>'
}

# manager_xml: the Manager element for the current settings. pathname=""
# turns off session persistence, so a stop does not write every session.
manager_xml() {
	echo "  <Manager pathname=\"\" maxActiveSessions=\"$S_MAX\" processExpiresFrequency=\"$S_EXPIRES\"/>"
}

# status PATH: the HTTP status of GET PATH on the instance (Accept: JSON,
# so the sessionapp answers 401 rather than creating anything).
status() {
	local code=000
	if { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
		printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAccept: application/json\r\nConnection: close\r\n\r\n' "$1" "$PORT" >&3
		IFS=' ' read -r -t 5 _ code _ <&3 || code=000
		exec 3>&-
	fi
	echo "$code"
}

# ours PID DIR: whether PID is the JVM of the instance in DIR.
ours() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | grep -xF -- "-Dcatalina.base=$2" >/dev/null
}

randpw() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

cmd_start() {
	local dir="" users=1 password=secret owner="" examples="" apps=() exapps=() maxthreads="" javaopts=""
	PORT=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--dir | --port | --users | --password | --examples | --app | --examples-app | --owner | --max-threads | --java-opts)
			[ $# -ge 2 ] || die "start: $1 needs a value" ;;
		*) die "start: unknown argument '$1'" ;;
		esac
		case "$1" in
		--dir) dir=$2 ;;
		--port) PORT=$2 ;;
		--users) users=$2 ;;
		--password) password=$2 ;;
		--examples) examples=$2 ;;
		--app) apps+=("$2") ;;
		--examples-app) exapps+=("$2") ;;
		--owner) owner=$2 ;;
		--max-threads) maxthreads=$2 ;;
		--java-opts) javaopts=$2 ;;
		esac
		shift 2
	done
	[ -n "$dir" ] || die "start: --dir is required"
	[[ "$PORT" =~ ^[0-9]+$ ]] || die "start: --port PORT is required"
	[[ "$users" =~ ^[0-9]+$ ]] || die "start: --users must be a number"
	[[ "$password" =~ ^[A-Za-z0-9._-]+$ ]] || die "start: --password may only hold letters, digits, '.', '_' and '-'"
	[ -z "$maxthreads" ] || [[ "$maxthreads" =~ ^[1-9][0-9]*$ ]] || die "start: --max-threads must be a positive number"
	[[ "$javaopts" =~ ^[A-Za-z0-9=:._+\ -]*$ ]] || die "start: --java-opts may only hold letters, digits, spaces and =:._+-"
	[ -e "$dir" ] && die "start: $dir already exists"
	installed || cmd_install

	mkdir -p "$(dirname "$dir")"
	dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")
	# The shutdown port is turned off below; Tomcat is stopped by PID.
	tomcat10-instance-create -p "$PORT" -c "$((PORT == 65535 ? 65534 : PORT + 1))" "$dir" </dev/null >&2
	sed -i -e "s/<Server port=\"[0-9]*\"/<Server port=\"-1\"/" \
		-e "s/<Connector port=\"$PORT\" protocol=\"HTTP\/1.1\"/<Connector port=\"$PORT\" address=\"127.0.0.1\" protocol=\"HTTP\/1.1\"/" \
		"$dir/conf/server.xml"
	grep -q "address=\"127.0.0.1\"" "$dir/conf/server.xml" || die "could not bind the connector to 127.0.0.1 in $dir/conf/server.xml"
	if [ -n "$maxthreads" ]; then
		sed -i "s/address=\"127.0.0.1\" protocol=\"HTTP\/1.1\"/address=\"127.0.0.1\" maxThreads=\"$maxthreads\" protocol=\"HTTP\/1.1\"/" "$dir/conf/server.xml"
		grep -q "maxThreads=\"$maxthreads\"" "$dir/conf/server.xml" || die "could not set maxThreads in $dir/conf/server.xml"
	fi

	local script_user=load-script jmx_user=load-jmx script_pw jmx_pw
	script_pw=$(randpw)
	jmx_pw=$(randpw)
	{
		echo '<?xml version="1.0" encoding="UTF-8"?>'
		echo '<tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">'
		echo '  <role rolename="tomcat"/>'
		echo "  <user username=\"$script_user\" password=\"$script_pw\" roles=\"manager-script\"/>"
		echo "  <user username=\"$jmx_user\" password=\"$jmx_pw\" roles=\"manager-jmx\"/>"
		for ((i = 1; i <= users; i++)); do
			echo "  <user username=\"user$i\" password=\"$password\" roles=\"tomcat\"/>"
		done
		echo '</tomcat-users>'
	} >"$dir/conf/tomcat-users.xml"
	chmod 600 "$dir/conf/tomcat-users.xml"
	for ((i = 1; i <= users; i++)); do echo "user$i=$password"; done >"$dir/conf/sessionapp-users.properties"
	chmod 600 "$dir/conf/sessionapp-users.properties"

	local ctxdir="$dir/conf/Catalina/localhost"
	mkdir -p "$ctxdir"
	cp /etc/tomcat10/Catalina/localhost/manager.xml "$ctxdir/"
	settings examples "$examples"
	if [ "$S_TIMEOUT" != 30 ]; then
		# The examples app has no session-config: the instance's default applies.
		sed -i "s|<session-timeout>30</session-timeout>|<session-timeout>$S_TIMEOUT</session-timeout>|" "$dir/conf/web.xml"
	fi
	{
		echo "<Context path=\"/examples\" docBase=\"$EXAMPLES\">"
		echo '  <Resources allowLinking="true"/>'
		manager_xml
		echo '</Context>'
	} >"$ctxdir/examples.xml"
	local exapp exname
	for exapp in "${exapps[@]}"; do
		exname=${exapp%%:*}
		[[ "$exname" =~ ^[A-Za-z0-9_-]+$ && "$exname" != manager && "$exname" != examples ]] || die "--examples-app: bad context name '$exname'"
		[ -e "$ctxdir/$exname.xml" ] && die "--examples-app: $exname given twice"
		settings "$exname" "$([[ "$exapp" == *:* ]] && echo "${exapp#*:}")"
		examples_xml >"$ctxdir/$exname.xml"
	done

	if [ ${#apps[@]} -gt 0 ]; then
		local build="$dir/sessionapp-build"
		mkdir -p "$build"
		javac --release 11 -nowarn -cp "$SERVLET_API" -d "$build" "$HERE"/sessionapp/src/sessionapp/*.java
		local app name
		for app in "${apps[@]}"; do
			name=${app%%:*}
			[[ "$name" =~ ^[A-Za-z0-9_-]+$ && "$name" != manager && "$name" != examples ]] || die "--app: bad context name '$name'"
			[ -e "$dir/webapps/$name" ] && die "--app: $name given twice"
			settings "$name" "$([[ "$app" == *:* ]] && echo "${app#*:}")"
			mkdir -p "$dir/webapps/$name/WEB-INF/classes" "$dir/webapps/$name/META-INF"
			cp -r "$build/sessionapp" "$dir/webapps/$name/WEB-INF/classes/"
			sed "s/@SESSION_TIMEOUT@/$S_TIMEOUT/" "$HERE/sessionapp/web.xml" >"$dir/webapps/$name/WEB-INF/web.xml"
			{
				echo '<Context>'
				manager_xml
				echo "  <Parameter name=\"usersFile\" value=\"$dir/conf/sessionapp-users.properties\" override=\"false\"/>"
				echo '</Context>'
			} >"$dir/webapps/$name/META-INF/context.xml"
		done
	fi

	# Foreground `run` in the background: catalina.sh execs the JVM, so $!
	# is Tomcat's own PID.
	CATALINA_HOME=$CATALINA_HOME CATALINA_BASE=$dir CATALINA_PID="" CATALINA_OPTS="$javaopts" \
		"$CATALINA_HOME/bin/catalina.sh" run >"$dir/logs/console.log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$dir/tomcat.pid"

	if [ -n "$owner" ]; then
		# Stop Tomcat when the owner (a test binary) dies without doing it,
		# e.g. killed by go test's -timeout; only if the PID is still ours.
		(
			trap '' HUP
			while kill -0 "$pid" 2>/dev/null; do
				if ! kill -0 "$owner" 2>/dev/null; then
					ours "$pid" "$dir" && kill "$pid"
					exit 0
				fi
				sleep 1
			done
		) >/dev/null 2>&1 </dev/null &
	fi

	# Ready when every app answers (startup logs "Server startup in" after
	# deploying them all; examples' JSP scanning makes it take ~9 s).
	local deadline=$((SECONDS + 120)) ok
	while :; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 40 "$dir/logs/console.log" >&2
			die "Tomcat (PID $pid) exited during start-up; log: $dir/logs/console.log"
		fi
		ok=1
		grep -q "Server startup in" "$dir/logs/console.log" 2>/dev/null || ok=0
		[ $ok = 1 ] && [ "$(status /examples/index.html)" = 200 ] || ok=0
		[ $ok = 1 ] && [ "$(status /manager/text/serverinfo)" = 401 ] || ok=0
		for app in "${apps[@]}"; do
			[ $ok = 1 ] && [ "$(status "/${app%%:*}/api/me")" = 401 ] || ok=0
		done
		for exapp in "${exapps[@]}"; do
			[ $ok = 1 ] && [ "$(status "/${exapp%%:*}/index.html")" = 200 ] || ok=0
		done
		[ $ok = 1 ] && break
		if [ $SECONDS -ge $deadline ]; then
			kill "$pid" 2>/dev/null || true
			tail -n 40 "$dir/logs/console.log" >&2
			die "Tomcat (PID $pid) did not answer within 120 s; log: $dir/logs/console.log"
		fi
		sleep 0.2
	done

	{
		echo "PID=$pid"
		echo "URL=http://127.0.0.1:$PORT"
		echo "PORT=$PORT"
		echo "DIR=$dir"
		echo "USERS=$users"
		echo "PASSWORD=$password"
		echo "SCRIPT_USER=$script_user"
		echo "SCRIPT_PASSWORD=$script_pw"
		echo "JMX_USER=$jmx_user"
		echo "JMX_PASSWORD=$jmx_pw"
	} | tee "$dir/instance.env"
	chmod 600 "$dir/instance.env"
}

cmd_stop() {
	local dir=${1:?stop: DIR is required}
	dir=$(cd "$dir" && pwd)
	local pid
	pid=$(cat "$dir/tomcat.pid" 2>/dev/null) || die "stop: no $dir/tomcat.pid"
	if ! ours "$pid" "$dir"; then
		echo "tomcat.sh: Tomcat of $dir (PID $pid) is not running"
		return 0
	fi
	kill "$pid"
	for ((i = 0; i < 150; i++)); do
		kill -0 "$pid" 2>/dev/null || { echo "tomcat.sh: stopped PID $pid"; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	echo "tomcat.sh: killed PID $pid (it did not stop within 15 s)"
}

case "${1:-}" in
install) cmd_install ;;
start) shift && cmd_start "$@" ;;
stop) shift && cmd_stop "$@" ;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
