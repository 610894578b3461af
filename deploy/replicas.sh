#!/usr/bin/env bash
# N replicas of the page behind HAProxy, in the foreground; Ctrl+C or SIGTERM stops them all.
#   bash deploy/replicas.sh 2 8080           # http://127.0.0.1:8080
#   BIND=0.0.0.0 bash deploy/replicas.sh 2 8080   # open to the room
# Each replica is `streamlit run dashboard.py` on a free port of 127.0.0.1; the balancer's
# configuration is deploy/haproxy.cfg.in with those ports filled in.
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: bash deploy/replicas.sh N PORT (N replicas, 1..64; the balancer on PORT)"
[[ $# -eq 2 && $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]] || { echo "$usage" >&2; exit 2; }
count=$1
port=$2
((count >= 1 && count <= 64 && port >= 1 && port <= 65535)) || { echo "$usage" >&2; exit 2; }
bind=${BIND:-127.0.0.1}

# Debian's package, as tests/run.sh installs Chromium.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && apt-get install -y -qq haproxy >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq haproxy >/dev/null
    fi
fi
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)

work=$(mktemp -d)
pids=()
stop() {
    trap - EXIT INT TERM
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        # Streamlit stops within a second or two; whatever is left after 15 s is killed.
        for _ in $(seq 150); do
            alive=0
            for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
            ((alive)) || break
            sleep 0.1
        done
        kill -KILL "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free ports, held open together so no two replicas get the same one.
mapfile -t ports < <(python -c '
import socket, sys
held = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in held:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in held))
' "$count")

# One cookie secret for every replica: a page that moves to another keeps a valid XSRF token.
export STREAMLIT_SERVER_COOKIE_SECRET=${STREAMLIT_SERVER_COOKIE_SECRET:-$(python -c 'import secrets; print(secrets.token_hex(32))')}
for i in "${!ports[@]}"; do
    python -m streamlit run dashboard.py --server.port "${ports[$i]}" \
        --server.address 127.0.0.1 --server.headless true >"$work/replica$((i + 1)).log" 2>&1 &
    pids+=($!)
    echo "replica$((i + 1)): 127.0.0.1:${ports[$i]} pid $!"
done

config="$work/haproxy.cfg"
while IFS= read -r line; do
    if [[ $line == "@SERVERS@" ]]; then
        for i in "${!ports[@]}"; do
            name="replica$((i + 1))"
            echo "    server $name 127.0.0.1:${ports[$i]} cookie $name"
        done
    else
        echo "${line//@BIND@/$bind:$port}"
    fi
done <deploy/haproxy.cfg.in >"$config"
"$haproxy" -c -q -f "$config"
"$haproxy" -db -f "$config" &
balancer=$!
pids+=("$balancer")
echo "balancer: http://$bind:$port pid $balancer (replica logs in $work)"
wait "$balancer"
