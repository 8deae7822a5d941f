#!/usr/bin/env bash
# make bench: Go benchmarks of the hot path, then a side-by-side load test
# on loopback in one run, interleaved rounds: the upstream directly, a bare
# httputil.ReverseProxy (the practical limit), and Gatehouse with a
# signed-in session over a store holding 100k live sessions; then the same
# Gatehouse load while 50 password sign-ins run at once.
#
# Every server is its own process (gatehouse serve; gatehouse-bench
# upstream/proxy) so CPU time and peak RSS are read from /proc.
# Knobs: ROUNDS (6), DURATION (8s), CONNS (64), SESSIONS (100000),
# BENCHTIME (1s, Go benchmarks), SKIP_GO_BENCH=1, BENCH_PORT (18300),
# ACCESS_LOG (true: measured with the access log on, as deployed).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-8s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
SESSIONS=${SESSIONS:-100000}
BENCHTIME=${BENCHTIME:-1s}
PORT=${BENCH_PORT:-18300}
GO=${GO:-go}

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench: installing wrk" >&2
	sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
	$sudo_cmd apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d /tmp/gatehouse-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

echo "== Go benchmarks (-benchmem)"
if [ -z "${SKIP_GO_BENCH:-}" ]; then
	$GO test -run '^$' -benchmem -benchtime="$BENCHTIME" \
		-bench 'BenchmarkLookupHit$|BenchmarkLookupMiss$|BenchmarkDecide|BenchmarkSign$|BenchmarkUpstreamHeader|BenchmarkStripCookie|BenchmarkForward|BenchmarkGatewayRequest|BenchmarkBareProxyRequest' \
		./internal/session ./internal/gate ./internal/identity ./internal/proxy ./internal/server ./tools/bench | grep -E '^(Benchmark|ok|FAIL|---)' 
fi

echo "== building"
CGO_ENABLED=0 $GO build -trimpath -o "$work/gatehouse" ./cmd/gatehouse
CGO_ENABLED=0 $GO build -trimpath -o "$work/gatehouse-bench" ./tools/gatehouse-bench

up=127.0.0.1:$PORT; bare=127.0.0.1:$((PORT+1)); gw=127.0.0.1:$((PORT+2)); ops=127.0.0.1:$((PORT+3))
pub="http://localhost:$((PORT+2))"
cat >"$work/gatehouse.yaml" <<YAML
public_url: $pub
listen: $gw
ops_listen: $ops
store: {driver: sqlite, dsn: $work/gatehouse.db}
session: {cache_size: 100000}
password:
  lockout: {max_failures: 100, ip_limit: 1000000, ip_window: 1m}
limits: {unauthenticated_per_minute: 100000000, unauthenticated_burst: 1000000}   # the storm signs in from one address
routes:
  - {path_prefix: /, upstream: http://$up, audience: app, company: acme}
mail: {from: bench@localhost, outbox_dir: $work/outbox}
log: {level: info, format: json, access: ${ACCESS_LOG:-true}}
YAML

echo "== seeding: one account and $SESSIONS live sessions"
pw="$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"  # random, free of context words (the email is bench@)
printf '%s\n' "$pw" | "$work/gatehouse" user create --config "$work/gatehouse.yaml" \
	--email bench@example.com --first-name Bench --last-name User --role viewer \
	--company acme --create-company >/dev/null
t0=$(date +%s)
# Seeding starts the sessions as sign-ins do and prints the last one's
# cookie, so the gateway hashes no password before the proxying load.
cookie=$("$work/gatehouse-bench" seed --config "$work/gatehouse.yaml" --email bench@example.com --sessions "$SESSIONS")
echo "seeded in $(( $(date +%s) - t0 ))s"

"$work/gatehouse-bench" upstream --listen "$up" --jwks "$pub/.gatehouse/jwks.json" --issuer "$pub" --audience app --sample 1000 2>"$work/upstream.log" &
pid_up=$!; pids+=($pid_up)
"$work/gatehouse-bench" proxy --listen "$bare" --upstream "http://$up" 2>"$work/proxy.log" &
pid_bare=$!; pids+=($pid_bare)
"$work/gatehouse" serve --config "$work/gatehouse.yaml" 2>"$work/access.log" &
pid_gw=$!; pids+=($pid_gw)

for _ in $(seq 1 100); do
	curl -fsS "http://$ops/readyz" >/dev/null 2>&1 && curl -fsS "http://$up/__bench/stats" >/dev/null 2>&1 \
		&& curl -fsS "http://$bare/__bench/stats" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fsS "http://$ops/readyz" >/dev/null

hdr="Cookie: $cookie"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "$hdr" "http://$gw/hello")
[ "$status" = 200 ] || { echo "bench: signed-in request answered $status" >&2; exit 1; }

# wrk reports through this script, one line per run:
# requests duration_us p50_us p99_us socket_errors status_errors.
cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
tck=$(getconf CLK_TCK)

# run NAME URL PID: one wrk run; appends "name reqs dur_us p50 p99 sockerr
# staterr cpu_ticks upstream_cpu_ticks" to results. The upstream's CPU is
# read too: what the gateway sends it (the identity headers) costs it time
# on the same cores.
run() {
	local name=$1 url=$2 pid=$3 c0 c1 u0 u1 line
	c0=$(cpu_ticks "$pid"); u0=$(cpu_ticks "$pid_up")
	line=$(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" -H "$hdr" -s "$work/report.lua" "$url" | grep '^RESULT')
	c1=$(cpu_ticks "$pid"); u1=$(cpu_ticks "$pid_up")
	echo "$name ${line#RESULT } $(( c1 - c0 )) $(( u1 - u0 ))" >>"$work/results"
	echo "$name ${line#RESULT } $(( c1 - c0 )) $(( u1 - u0 ))" | awk -v tck="$tck" \
		'{printf "  %-10s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %6.1f us/req (upstream %5.1f)  sock_err %d  non2xx %d\n", $1, $2/($3/1e6), $4/1000, $5/1000, $8/tck*1e6/$2, $9/tck*1e6/$2, $6, $7}'
}

echo "== warm-up"
for u in "http://$up/w" "http://$bare/w" "http://$gw/w"; do
	wrk -t"$THREADS" -c"$CONNS" -d2s -H "$hdr" "$u" >/dev/null
done
: >"$work/results"

echo "== load: $ROUNDS interleaved rounds of $DURATION, $CONNS connections, $THREADS wrk threads"
# Odd rounds run direct, bare, gatehouse; even rounds the reverse. A
# machine that slows down or speeds up during a round then favours neither
# proxy: bare always runs in the middle, gatehouse as often first as last.
for r in $(seq 1 "$ROUNDS"); do
	echo " round $r"
	if (( r % 2 )); then
		run direct "http://$up/r$r" "$pid_up"
		run bare "http://$bare/r$r" "$pid_bare"
		run gatehouse "http://$gw/r$r" "$pid_gw"
	else
		run gatehouse "http://$gw/r$r" "$pid_gw"
		run bare "http://$bare/r$r" "$pid_bare"
		run direct "http://$up/r$r" "$pid_up"
	fi
done

# Peak RSS of the proxying load, read before the sign-in storm: argon2id
# allocates its memory cost per hash, which is reported separately below.
rss_gw=$(hwm_kb "$pid_gw"); rss_bare=$(hwm_kb "$pid_bare"); rss_up=$(hwm_kb "$pid_up")
metrics=$(curl -fsS "http://$ops/metrics" | grep '^gatehouse_requests_total{route="app"' || true)
gogc=$(curl -fsS "http://$ops/metrics" | awk '/^go_gc_gogc_percent/ {print $2}')

echo "== login load isolation: 50 concurrent password sign-ins"
storm_secs=$(( ${DURATION%s} + 4 ))
for r in $(seq 1 "$ROUNDS"); do
	run calm "http://$gw/c$r" "$pid_gw"
	"$work/gatehouse-bench" storm --url "http://$gw" --email bench@example.com --password "$pw" \
		--concurrency 50 --duration "${storm_secs}s" >"$work/storm$r.json" &
	storm_pid=$!
	sleep 2
	run storm "http://$gw/s$r" "$pid_gw"
	wait "$storm_pid"
	echo "  storm sign-ins: $(cat "$work/storm$r.json")"
done

stats=$(curl -fsS "http://$up/__bench/stats")
rss_storm=$(hwm_kb "$pid_gw")
live=$(curl -fsS "http://$ops/metrics" | awk '/^gatehouse_active_sessions/ {print $2}')

echo "== summary (medians over rounds)"
echo "upstream assertion check: $stats"
echo "gateway responses to the app route by status, before the storm (499: wrk closed the connection at the end of a run): $(echo "$metrics" | tr '\n' ' ')"
echo "active sessions (gauge): ${live:-?}"
echo "gatehouse GC percentage under proxying load, set by the heap floor (limits.gc_heap_floor_bytes): ${gogc:-?}"
echo "peak RSS under proxying load: gatehouse $((rss_gw/1024)) MB, bare proxy $((rss_bare/1024)) MB, upstream $((rss_up/1024)) MB"
echo "peak RSS of gatehouse after the sign-in storm (argon2id memory): $((rss_storm/1024)) MB"
awk -v tck="$tck" -v rss_gw="$rss_gw" -v stats="$stats" -v metrics="$metrics" '
function median(arr, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = arr[i]; for (j = i - 1; j >= 1 && arr[j] > t; j--) arr[j+1] = arr[j]; arr[j+1] = t }
	return (n % 2) ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
}
{
	n[$1]++; k = n[$1]
	rps[$1, k] = $2 / ($3 / 1e6); p50[$1, k] = $4 / 1000; p99[$1, k] = $5 / 1000
	cpu[$1, k] = $8 / tck * 1e6 / $2; upc[$1, k] = $9 / tck * 1e6 / $2; sock[$1] += $6; st[$1] += $7
}
END {
	split("direct bare gatehouse calm storm", names, " ")
	for (i = 1; i <= 5; i++) {
		m = names[i]; if (!n[m]) continue
		for (k = 1; k <= n[m]; k++) { a[k] = rps[m, k] } R[m] = median(a, n[m])
		for (k = 1; k <= n[m]; k++) { a[k] = p50[m, k] } P50[m] = median(a, n[m])
		for (k = 1; k <= n[m]; k++) { a[k] = p99[m, k] } P99[m] = median(a, n[m])
		for (k = 1; k <= n[m]; k++) { a[k] = cpu[m, k] } C[m] = median(a, n[m])
		for (k = 1; k <= n[m]; k++) { a[k] = upc[m, k] } U[m] = median(a, n[m])
		printf "%-10s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %6.1f us/req (upstream %5.1f)  socket errors %d  non-2xx %d\n", m, R[m], P50[m], P99[m], C[m], U[m], sock[m], st[m]
	}
	# Rounds were interleaved so that each comparison is made between runs
	# seconds apart: take the median of the per-round ratios and differences,
	# which a noisy neighbour on a shared machine disturbs far less.
	nr = n["gatehouse"] < n["bare"] ? n["gatehouse"] : n["bare"]
	for (k = 1; k <= nr; k++) { a[k] = rps["gatehouse", k] / rps["bare", k] } ratio = median(a, nr)
	for (k = 1; k <= nr; k++) { a[k] = p99["gatehouse", k] - p99["bare", k] } added_p99 = median(a, nr)
	for (k = 1; k <= nr; k++) { a[k] = cpu["gatehouse", k] - cpu["bare", k] } added_cpu = median(a, nr)
	ns = n["storm"] < n["calm"] ? n["storm"] : n["calm"]
	for (k = 1; k <= ns; k++) { a[k] = rps["storm", k] / rps["calm", k] } iso = median(a, ns)
	printf "ratios (median of per-round ratios for gatehouse/bare): gatehouse/bare %.2f, gatehouse/direct %.2f, bare/direct %.2f\n", ratio, R["gatehouse"]/R["direct"], R["bare"]/R["direct"]
	for (k = 1; k <= nr; k++) { a[k] = upc["gatehouse", k] - upc["bare", k] } added_up = median(a, nr)
	printf "added by gatehouse over bare: p99 %+.2f ms, cpu %+.1f us/req (and %+.1f us/req in the upstream: the identity headers it reads, and the gateway sharing its cores)\n", added_p99, added_cpu, added_up
	printf "login isolation: throughput with 50 sign-ins in flight / undisturbed = %.2f\n", iso
	errs = 0; for (m in sock) errs += sock[m] + st[m]
	nonok = (metrics ~ /status="([135-9]|2[^0-9]|4[0-8]|49[0-8])/) ? 1 : 0
	split(stats, _, "\"failed\":"); failed = _[2] + 0
	split(stats, _, "\"verified\":"); verified = _[2] + 0
	print "targets:"
	printf "  [%s] throughput >= 0.85x bare (%.2f)\n", (ratio >= 0.85 ? "PASS" : "FAIL"), ratio
	printf "  [%s] p99 added < 2 ms (%+.2f ms)\n", (added_p99 < 2 ? "PASS" : "FAIL"), added_p99
	printf "  [%s] cpu added < 40 us/req (%+.1f us)\n", (added_cpu < 40 ? "PASS" : "FAIL"), added_cpu
	printf "  [%s] peak RSS < 60 MB (%.1f MB)\n", (rss_gw / 1024 < 60 ? "PASS" : "FAIL"), rss_gw / 1024
	printf "  [%s] no socket errors, no non-2xx (wrk %d, gateway non-2xx seen: %s)\n", (errs == 0 && !nonok ? "PASS" : "FAIL"), errs, (nonok ? "yes" : "no")
	printf "  [%s] assertions verified by the upstream on a sample (%d ok, %d failed)\n", (verified > 0 && failed == 0 ? "PASS" : "FAIL"), verified, failed
	printf "  [%s] login isolation >= 0.70 (%.2f)\n", (iso >= 0.70 ? "PASS" : "FAIL"), iso
}' "$work/results" | tee "$work/summary"
echo "raw results: $work/results (name requests duration_us p50_us p99_us socket_err status_err cpu_ticks upstream_cpu_ticks)"
