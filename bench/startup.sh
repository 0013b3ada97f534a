#!/usr/bin/env bash
# Measures how long `fjord` takes from spawn to accepting TCP connections on an empty data
# directory, over several runs, and prints min / median / max in milliseconds.
#
#   bench/startup.sh [RUNS]          (default 20 runs; builds target/release/fjord if missing)
#   FJORD_BIN=/path/to/fjord bench/startup.sh
#
# The probe is a Python loop that tries to connect every 0.5 ms, so the figure includes process
# start, configuration, storage initialisation and binding, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
bin="${FJORD_BIN:-$PWD/target/release/fjord}"
if [ ! -x "$bin" ]; then
  cargo build --release -p fjord
fi

exec python3 - "$bin" "$runs" <<'PY'
import os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time

binary, runs = sys.argv[1], int(sys.argv[2])

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

samples = []
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
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

samples.sort()
print(f"spawn -> first accepted connection, empty data dir, {runs} runs: "
      f"min {samples[0]:.1f} ms, median {statistics.median(samples):.1f} ms, "
      f"max {samples[-1]:.1f} ms")
PY
