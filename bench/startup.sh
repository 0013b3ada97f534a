#!/usr/bin/env bash
# Measures how long `fjord` takes from spawn to accepting TCP connections, and to answering its
# first Metadata request (the figure bench/run reports as start-up), on an empty data
# directory, over several runs, and prints min / median / max of both in milliseconds.
#
#   bench/startup.sh [RUNS]          (default 20 runs; builds target/release/fjord if missing)
#   FJORD_BIN=/path/to/fjord bench/startup.sh
#
# The probe is a Python loop that tries to connect every 0.5 ms, then sends Metadata v4 requests
# (bench/side_by_side.py's probe) until one names a broker. Accepting comes first because fjord
# binds its listener before it loads logs and starts the controller; Metadata is answered only
# after those, so "accepted" understates start-up.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
bin="${FJORD_BIN:-$PWD/target/release/fjord}"
if [ ! -x "$bin" ]; then
  cargo build --release -p fjord
fi

exec python3 - "$bin" "$runs" "$PWD/bench" <<'PY'
import os, shutil, signal, socket, statistics, struct, subprocess, sys, tempfile, time

binary, runs = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, sys.argv[3])
from side_by_side import metadata_ok

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

samples = []
metadata_samples = []
for _ in range(runs):
    work = tempfile.mkdtemp(prefix="fjord-startup-")
    port, controller = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [binary, "--override",
         f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}"],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"fjord exited with {proc.returncode} before accepting connections")
                if time.perf_counter() - t0 > 20:
                    sys.exit("fjord did not accept a connection within 20 s")
                time.sleep(0.0005)
        samples.append((time.perf_counter() - t0) * 1000)
        while True:
            try:
                if metadata_ok(port):
                    break
            except (OSError, struct.error):
                pass
            if time.perf_counter() - t0 > 20:
                sys.exit("fjord answered no Metadata within 20 s")
            time.sleep(0.0005)
        metadata_samples.append((time.perf_counter() - t0) * 1000)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

for what, got in (("first accepted connection", samples),
                  ("first Metadata response", metadata_samples)):
    got.sort()
    print(f"spawn -> {what}, empty data dir, {runs} runs: "
          f"min {got[0]:.1f} ms, median {statistics.median(got):.1f} ms, max {got[-1]:.1f} ms")
PY
