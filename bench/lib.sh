# Shared by the benchmarks (bench/record.sh, serve.sh, mock.sh, view.sh, view-search.sh); sourced, not run.
# Expects $root (the repository). setup_load TOOL… checks the tools, makes $work (a
# private mktemp -d) and the array pids (killed on exit), and sets $hark ($HARK, or a
# fresh release build).

setup_load() {
  for t in "$@"; do
    command -v "$t" >/dev/null || { echo "bench/$(basename "$0") needs $t" >&2; exit 2; }
  done
  work=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
  if [ -n "${HARK:-}" ]; then
    hark=$HARK   # a given build
  else
    cargo build -q --release --manifest-path "$root/Cargo.toml" -p hark-cli
    hark="$root/target/release/hark"
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }   # peak RSS, kB
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{(float(sys.argv[2]) - float(sys.argv[1])) * 1000:.0f}')" "$1" "$(now)"; }   # ms

# `hark view` on a HAR in the background (bench/view.sh, bench/view-search.sh): HARK HAR DIR.
# Sets $pid, $url, $t0 (the launch), $first (ms to the first 100 rows) and $indexed (ms
# to the whole index).
start_view() {
  t0=$(now)
  "$1" view --no-open --port 0 --quiet "$2" > "$3/url" &
  pid=$!
  until [ -s "$3/url" ]; do sleep 0.005; done
  url=$(head -1 "$3/url")
  # (curl and grep: a Python start per poll would add tens of ms to what is measured)
  until curl -sf "${url}api/files/0/rows?limit=100" 2>/dev/null | grep -q '"items":\[{'; do sleep 0.005; done
  first=$(since "$t0")
  until curl -sf "${url}api/files/0/summary" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["done"] else 1)'; do sleep 0.05; done
  indexed=$(since "$t0")
}

# nginx on a free loopback port, one worker, serving a 612-byte file (nginx's own
# index.html size); sets $nport and $target.
start_nginx() {
  nport=$(free_port)
  mkdir -p "$work/www" "$work/nginx"
  head -c 612 /dev/zero | tr '\0' 'x' > "$work/www/index.html"
  chmod 755 "$work" "$work/www"; chmod 644 "$work/www/index.html"   # nginx's worker is not root
  cat > "$work/nginx.conf" <<NGINX
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$nport; root $work/www; }
}
NGINX
  nginx -c "$work/nginx.conf" -p "$work/nginx" & pids+=($!)
  wait_port "$nport"
  target="http://127.0.0.1:$nport/index.html"
}
