//! End-to-end tests of the `fjord` binary: the built executable is spawned with a temporary
//! data directory and free ports, and judged by its exit status, its output and its files.
//!
//! Every failure case must end in a clear message (`error: ...` then `hint: ...` on stderr),
//! a non-zero exit and no panic.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

const FJORD: &str = env!("CARGO_BIN_EXE_fjord");

/// A port nobody listens on right now (the OS picked it; we let it go).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

fn listeners_override() -> String {
    format!(
        "listeners=PLAINTEXT://127.0.0.1:{},CONTROLLER://127.0.0.1:{}",
        free_port(),
        free_port()
    )
}

/// A `fjord` command run in `cwd` with a clean `KAFKA_*`-free environment.
fn fjord(cwd: &Path) -> Command {
    let mut cmd = Command::new(FJORD);
    cmd.current_dir(cwd);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("KAFKA_") || name == "CLUSTER_ID" {
            cmd.env_remove(name);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd
}

/// Runs a command that must exit on its own within 20 s.
fn run_to_exit(mut cmd: Command) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fjord");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("collect output");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "fjord did not exit within 20 s\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts a start-up failure: exit 1, `error:` naming every `needles`, a hint, no panic.
fn assert_clean_failure(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr:\n{stderr}\nstdout:\n{stdout}"
    );
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "{stderr}"
    );
    assert!(stderr.starts_with("error: "), "stderr:\n{stderr}");
    assert!(stderr.contains("\nhint: "), "no hint in stderr:\n{stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "`{needle}` missing from stderr:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("Os {") && !stderr.contains("kind:"),
        "Debug dump in stderr:\n{stderr}"
    );
}

/// A running server whose stdout lines arrive on a channel.
struct Server {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Server {
    fn spawn(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn fjord");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a stdout line containing `needle`.
    fn wait_for(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let mut stderr = String::new();
                    if let Some(mut e) = self.child.stderr.take() {
                        let _ = e.read_to_string(&mut stderr);
                    }
                    panic!(
                        "no line with `{needle}` within {timeout:?}\nstdout:\n{}\nstderr:\n{stderr}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) on our own child's pid; no memory involved.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                // Drain the remaining lines for assertions.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "fjord did not exit within {timeout:?}\nstdout:\n{}",
                    self.seen.join("\n")
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind, even when an assertion failed.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The broker port from a `fjord started (... listeners=PLAINTEXT://127.0.0.1:PORT,...` line.
fn plaintext_port(started_line: &str) -> u16 {
    let after = started_line
        .split("PLAINTEXT://")
        .nth(1)
        .expect("PLAINTEXT listener in the start-up line");
    let addr: String = after
        .chars()
        .take_while(|c| *c != ',' && *c != ')')
        .collect();
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port in the start-up line")
}

#[test]
fn help_shows_usage_and_examples() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir.path());
    cmd.arg("--help");
    let out = run_to_exit(cmd);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Usage:",
        "server",
        "--override",
        "Examples:",
        "server.properties",
    ] {
        assert!(
            stdout.contains(needle),
            "`{needle}` missing from --help:\n{stdout}"
        );
    }

    let mut cmd = fjord(dir.path());
    cmd.args(["server", "--help"]);
    let out = run_to_exit(cmd);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--override"));
}

#[test]
fn version_prints_the_crate_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir.path());
    cmd.arg("--version");
    let out = run_to_exit(cmd);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("fjord {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["--no-such-flag"][..], &["server", "--no-such-flag"]] {
        let mut cmd = fjord(dir.path());
        cmd.args(args);
        let out = run_to_exit(cmd);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--no-such-flag"), "{stderr}");
        assert!(stderr.contains("--help"), "no pointer to --help:\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(
        std::fs::read_dir(dir.path())
            .expect("read dir")
            .next()
            .is_none(),
        "a usage error must not create anything"
    );
}

#[test]
fn malformed_override_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir.path());
    cmd.args(["--override", "num.partitions"]);
    let out = run_to_exit(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("key=value"), "{stderr}");
}

#[test]
fn bad_config_values_stop_start_up_naming_key_and_value() {
    // (arguments, environment, words the error must contain)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            &["--override", "num.partitions=abc"],
            &[],
            &["num.partitions", "abc", "--override"],
        ),
        (
            &["--override", "num.partitions=0"],
            &[],
            &["num.partitions", "at least 1"],
        ),
        (
            &["--override", "log.retention.ms=0"],
            &[],
            &["log.retention.ms"],
        ),
        (
            &["--override", "log.segment.bytes=100"],
            &[],
            &["log.segment.bytes", "1048576"],
        ),
        (
            &["--override", "auto.create.topics.enable=maybe"],
            &[],
            &["auto.create.topics.enable", "true or false"],
        ),
        (
            &[],
            &[("KAFKA_NUM_PARTITIONS", "abc")],
            &[
                "num.partitions",
                "environment variable KAFKA_NUM_PARTITIONS",
            ],
        ),
        (
            &[],
            &[("KAFKA_CFG_LOG_RETENTION_MS", "0")],
            &["log.retention.ms", "KAFKA_CFG_LOG_RETENTION_MS"],
        ),
        (
            &["--override", "listeners=PLAINTEXT://localhost"],
            &[],
            &["listeners", "port"],
        ),
        (
            &["--override", "listeners=PLAINTEXT://127.0.0.1:9092"],
            &[],
            &["CONTROLLER", "listeners"],
        ),
    ];
    for (args, env, needles) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = fjord(dir.path());
        cmd.args(*args);
        for (k, v) in *env {
            cmd.env(k, v);
        }
        let out = run_to_exit(cmd);
        assert_clean_failure(&out, needles);
        assert!(
            !dir.path().join("fjord-data").exists(),
            "{args:?}: a configuration error must not create the data dir"
        );
    }
}

#[test]
fn bad_value_in_file_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("server.properties");
    std::fs::write(&file, "# fjord\nnode.id=1\nnum.partitions = three\n").expect("write");
    let mut cmd = fjord(dir.path());
    cmd.args(["server", "server.properties"]);
    let out = run_to_exit(cmd);
    assert_clean_failure(&out, &["num.partitions", "three", "server.properties:3"]);
}

#[test]
fn missing_config_file_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir.path());
    cmd.args(["server", "no-such.properties"]);
    let out = run_to_exit(cmd);
    assert_clean_failure(&out, &["no-such.properties"]);
}

#[test]
fn port_in_use_is_reported_with_the_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let mut cmd = fjord(dir.path());
    cmd.args([
        "--override",
        &format!(
            "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{}",
            free_port()
        ),
    ]);
    let out = run_to_exit(cmd);
    assert_clean_failure(&out, &[&format!("127.0.0.1:{port}"), "listeners"]);
    drop(taken);
}

#[test]
fn unwritable_data_dir_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A regular file where a directory should be: fails for root too (chmod would not).
    std::fs::write(dir.path().join("not-a-dir"), b"x").expect("write");
    let data = dir.path().join("not-a-dir").join("data");
    let mut cmd = fjord(dir.path());
    cmd.args([
        "--override",
        &listeners_override(),
        "--override",
        &format!("log.dirs={}", data.display()),
    ]);
    let out = run_to_exit(cmd);
    assert_clean_failure(&out, &["not-a-dir", "log.dirs"]);
}

#[test]
fn foreign_data_dir_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::write(data.join("thesis.tex"), b"\\documentclass{article}").expect("write");
    let mut cmd = fjord(dir.path());
    cmd.args([
        "--override",
        &listeners_override(),
        "--override",
        "log.dirs=data",
    ]);
    let out = run_to_exit(cmd);
    assert_clean_failure(&out, &["data", "meta.properties", "log.dirs"]);
    assert_eq!(
        std::fs::read_dir(&data).expect("read").count(),
        1,
        "fjord must not write into a directory it refused"
    );
}

/// Starts with no configuration file from a fresh directory, checks the start-up line, that
/// clients can connect, and that `signal` stops it cleanly: exit 0 within a few seconds and
/// the clean-shutdown marker in the data dir.
fn start_and_stop_with(signal: libc::c_int) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir.path());
    // Defaults except the ports, through the environment as a container would set them.
    let broker_port = free_port();
    let controller_port = free_port();
    cmd.env(
        "KAFKA_LISTENERS",
        format!("PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}"),
    );
    let mut server = Server::spawn(cmd);
    let line = server.wait_for("fjord started", Duration::from_secs(20));
    assert!(
        line.contains(&format!(
            "(node.id=1, listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}, data=./fjord-data) in "
        )),
        "{line}"
    );
    assert!(line.trim_end().ends_with(" ms (fjord::server)"), "{line}");
    assert!(
        line.starts_with('[') && line.contains("] INFO "),
        "not a Kafka-like line: {line}"
    );
    assert_eq!(plaintext_port(&line), broker_port);
    TcpStream::connect(("127.0.0.1", broker_port)).expect("the broker accepts connections");

    let stop = Instant::now();
    server.signal(signal);
    let status = server.wait_exit(Duration::from_secs(10));
    let took = stop.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "stdout:\n{}",
        server.seen.join("\n")
    );
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    assert!(
        server
            .seen
            .iter()
            .any(|l| l.contains("fjord stopped cleanly")),
        "stdout:\n{}",
        server.seen.join("\n")
    );
    let marker = dir
        .path()
        .join("fjord-data")
        .join(fjord_storage::CLEAN_SHUTDOWN_MARKER);
    assert!(
        marker.exists(),
        "no clean-shutdown marker at {}",
        marker.display()
    );
}

#[test]
fn sigterm_shuts_down_cleanly() {
    start_and_stop_with(libc::SIGTERM);
}

#[test]
fn sigint_shuts_down_cleanly() {
    start_and_stop_with(libc::SIGINT);
}

#[test]
fn server_subcommand_reads_a_kafka_properties_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broker_port = free_port();
    std::fs::write(
        dir.path().join("server.properties"),
        format!(
            "# Kafka-style file\n\
             process.roles=broker,controller\n\
             node.id=3\n\
             listeners=PLAINTEXT://127.0.0.1:{broker_port},\\\n    CONTROLLER://127.0.0.1:{}\n\
             log.dirs=kafka-logs\n\
             num.io.threads=8\n",
            free_port()
        ),
    )
    .expect("write");
    let mut cmd = fjord(dir.path());
    cmd.args([
        "server",
        "server.properties",
        "--override",
        "num.partitions=2",
    ]);
    let mut server = Server::spawn(cmd);
    let line = server.wait_for("fjord started", Duration::from_secs(20));
    assert!(line.contains("node.id=3"), "{line}");
    assert!(line.contains("data=kafka-logs"), "{line}");
    assert_eq!(plaintext_port(&line), broker_port);
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

/// Not an assertion on speed (benchmarks live in bench/): prints how long the binary takes
/// from spawn to accepting TCP connections on an empty data dir, for docs/BENCHMARKS.md.
#[test]
fn measure_time_to_first_connection() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let mut cmd = fjord(dir.path());
    cmd.args([
        "--override",
        &format!(
            "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{}",
            free_port()
        ),
    ]);
    let spawned = Instant::now();
    let mut server = Server::spawn(cmd);
    let deadline = spawned + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "never accepted a connection");
        thread::sleep(Duration::from_millis(1));
    }
    eprintln!(
        "fjord (test profile) accepted its first connection {} ms after spawn",
        spawned.elapsed().as_millis()
    );
    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

#[test]
fn second_process_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut first = fjord(dir.path());
    first.args(["--override", &listeners_override()]);
    let mut server = Server::spawn(first);
    server.wait_for("fjord started", Duration::from_secs(20));

    let mut second = fjord(dir.path());
    second.args(["--override", &listeners_override()]);
    let out = run_to_exit(second);
    assert_clean_failure(&out, &["fjord-data", "another fjord process"]);

    server.signal(libc::SIGTERM);
    assert!(server.wait_exit(Duration::from_secs(10)).success());
}

/// One HTTP/1.1 GET over a plain socket; the whole response as text.
fn http_get(port: u16, path: &str) -> String {
    use std::io::Write;
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the console accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .expect("request written");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response read");
    response
}

/// The console starts after the broker on `console.listener`; a second fjord whose console
/// port is taken logs a warning naming the key and keeps its broker serving.
#[test]
fn console_serves_http_and_a_taken_console_port_only_warns() {
    let console_port = free_port();
    let console = format!("console.listener=127.0.0.1:{console_port}");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir.path());
    cmd.args(["--override", &listeners_override(), "--override", &console]);
    let mut first = Server::spawn(cmd);
    first.wait_for("fjord started", Duration::from_secs(20));
    let line = first.wait_for("console listening on", Duration::from_secs(10));
    assert!(
        line.contains(&format!("http://127.0.0.1:{console_port}")),
        "{line}"
    );
    let response = http_get(console_port, "/api/v1/cluster");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"cluster_id\""), "{response}");

    let dir2 = tempfile::tempdir().expect("temp dir");
    let mut cmd = fjord(dir2.path());
    cmd.args(["--override", &listeners_override(), "--override", &console]);
    let mut second = Server::spawn(cmd);
    let started = second.wait_for("fjord started", Duration::from_secs(20));
    let warning = second.wait_for("console not started", Duration::from_secs(10));
    assert!(warning.contains("console.listener"), "{warning}");
    TcpStream::connect(("127.0.0.1", plaintext_port(&started)))
        .expect("the second broker serves without its console");

    for server in [&mut first, &mut second] {
        server.signal(libc::SIGTERM);
        assert!(server.wait_exit(Duration::from_secs(10)).success());
    }
}
