//! End-to-end tests of the `kafka-*` tools: the built `fjord` binary is started as a broker
//! on free ports, `fjord install-aliases` links Kafka's script names to it, and the seed
//! guides' command lines run verbatim through those links (with `localhost:9092` replaced by
//! the test broker's address). Each test judges exit status, output and effect.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

const FJORD: &str = env!("CARGO_BIN_EXE_fjord");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A broker in a temporary directory, with the alias links in `bin/`.
struct Broker {
    child: Child,
    _lines: Receiver<String>,
    dir: tempfile::TempDir,
    bootstrap: String,
}

impl Broker {
    fn start() -> Broker {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut cmd = Command::new(FJORD);
        cmd.current_dir(dir.path())
            .args([
                "server",
                "--override",
                &format!(
                    "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{}",
                    free_port()
                ),
                "--override",
                "log.dirs=data",
                "--override",
                "console.enabled=false",
            ])
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KAFKA_") {
                cmd.env_remove(name);
            }
        }
        let mut child = cmd.spawn().expect("spawn fjord");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) if line.contains("fjord started") => break,
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    panic!("the broker did not start within 30 s");
                }
            }
        }
        let out = Command::new(FJORD)
            .args(["install-aliases", "bin"])
            .current_dir(dir.path())
            .output()
            .expect("install-aliases");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Broker {
            child,
            _lines: lines,
            dir,
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// Runs a seed-guide command line: the first word names a link in `bin/`, and
    /// `localhost:9092` stands for this broker.
    fn run(&self, line: &str) -> Output {
        let line = line.replace("localhost:9092", &self.bootstrap);
        let mut words = line.split_whitespace();
        let program = words.next().expect("a program");
        run_to_exit(
            Command::new(self.bin().join(program))
                .args(words)
                .current_dir(self.dir.path()),
        )
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command that must finish within 30 s.
fn run_to_exit(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("command did not finish within 30 s: {cmd:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn seed_topic_commands_through_alias_links() {
    let broker = Broker::start();
    let out = broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic test-topic --partitions 3 --replication-factor 1",
    );
    assert_eq!(assert_ok(&out), "Created topic test-topic.\n");
    let out = broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic mon-topic --partitions 3 --replication-factor 1",
    );
    assert_eq!(assert_ok(&out), "Created topic mon-topic.\n");
    let out = broker.run("kafka-topics.sh --create --topic test --bootstrap-server localhost:9092");
    assert_eq!(assert_ok(&out), "Created topic test.\n");
    let out = broker.run(
        "kafka-topics.sh --create --topic my-topic --partitions 3 --replication-factor 1 --bootstrap-server localhost:9092",
    );
    assert_eq!(assert_ok(&out), "Created topic my-topic.\n");

    let out = broker.run("kafka-topics --list --bootstrap-server localhost:9092");
    let listed = assert_ok(&out);
    let names: Vec<&str> = listed.lines().filter(|l| !l.starts_with("__")).collect();
    assert_eq!(names, ["mon-topic", "my-topic", "test", "test-topic"]);

    let out =
        broker.run("kafka-topics --describe --bootstrap-server localhost:9092 --topic mon-topic");
    let described = assert_ok(&out);
    let lines: Vec<&str> = described.lines().collect();
    assert_eq!(lines.len(), 4, "{described}");
    assert!(
        lines[0].starts_with("Topic: mon-topic\tTopicId: "),
        "{described}"
    );
    assert!(
        lines[0].ends_with("\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: "),
        "{described}"
    );
    for (p, line) in lines[1..].iter().enumerate() {
        assert!(
            line.starts_with(&format!(
                "\tTopic: mon-topic\tPartition: {p}\tLeader: 1\tReplicas: 1\tIsr: 1"
            )),
            "{described}"
        );
    }
    let out =
        broker.run("kafka-topics.sh --describe --topic my-topic --bootstrap-server localhost:9092");
    assert!(assert_ok(&out).starts_with("Topic: my-topic\t"));

    let out =
        broker.run("kafka-topics --delete --bootstrap-server localhost:9092 --topic mon-topic");
    assert_eq!(assert_ok(&out), "");
    let out =
        broker.run("kafka-topics.sh --delete --topic my-topic --bootstrap-server localhost:9092");
    assert_eq!(assert_ok(&out), "");
    let out = broker.run("kafka-topics --list --bootstrap-server localhost:9092");
    let listed = assert_ok(&out);
    assert!(
        !listed.lines().any(|l| l == "mon-topic" || l == "my-topic"),
        "{listed}"
    );
}

#[test]
fn topics_errors_alter_and_json() {
    let broker = Broker::start();
    let create = "kafka-topics --bootstrap-server localhost:9092 --create --topic orders --partitions 2 --config retention.ms=60000";
    assert_ok(&broker.run(create));
    // A second create fails as Kafka's does: message on stdout, exit 1.
    let out = broker.run(create);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "Error while executing topic command : Topic 'orders' already exists.\n"
    );
    assert_eq!(
        assert_ok(&broker.run(&format!("{create} --if-not-exists"))),
        ""
    );

    assert_ok(&broker.run(
        "kafka-topics --bootstrap-server localhost:9092 --alter --topic orders --partitions 5",
    ));
    let out = broker.run(
        "kafka-topics --bootstrap-server localhost:9092 --describe --topic orders --output json",
    );
    let json: serde_json::Value = serde_json::from_str(&assert_ok(&out)).expect("json");
    assert_eq!(json[0]["topic"], "orders");
    assert_eq!(json[0]["partition_count"], 5);
    assert_eq!(json[0]["configs"]["retention.ms"], "60000");

    let out = broker.run("kafka-topics --bootstrap-server localhost:9092 --delete --topic nope");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("Topic 'nope' does not exist as expected"));
    assert_ok(
        &broker.run(
            "kafka-topics --bootstrap-server localhost:9092 --delete --topic nope --if-exists",
        ),
    );
}

fn fjord_in(dir: &Path) -> Command {
    let mut cmd = Command::new(FJORD);
    cmd.current_dir(dir);
    cmd
}

#[test]
fn usage_errors_use_kafka_messages_and_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: [(&[&str], &str); 4] = [
        (
            &["topics", "--bootstrap-server", "h:1"],
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete",
        ),
        (
            &["topics", "--bootstrap-server", "h:1", "--create"],
            "Missing required argument \"[topic]\"",
        ),
        (
            &["topics", "--zookeeper", "z:2181", "--list"],
            "zookeeper is not a recognized option",
        ),
        (
            &["console-consumer", "--bootstrap-server", "h:1"],
            "Exactly one of --include/--topic is required.",
        ),
    ];
    for (args, message) in cases {
        let out = run_to_exit(fjord_in(dir.path()).args(args));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // --help prints the usage and examples on stderr and exits 1, as Kafka's tools do.
    let out = run_to_exit(fjord_in(dir.path()).args(["topics", "--help"]));
    assert_eq!(out.status.code(), Some(1));
    let help = text(&out.stderr);
    for needle in [
        "Option",
        "--bootstrap-server <String: server to connect to>",
        "Examples:",
    ] {
        assert!(help.contains(needle), "{needle} missing:\n{help}");
    }
    // `fjord --help` lists the tools.
    let out = run_to_exit(fjord_in(dir.path()).arg("--help"));
    let help = assert_ok(&out);
    for tool in [
        "topics",
        "console-producer",
        "consumer-groups",
        "install-aliases",
    ] {
        assert!(help.contains(tool), "{tool} missing:\n{help}");
    }
}

#[test]
fn unreachable_broker_names_the_address_and_does_not_hang() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let started = Instant::now();
    let out = run_to_exit(fjord_in(dir.path()).args([
        "topics",
        "--list",
        "--bootstrap-server",
        &format!("127.0.0.1:{port}"),
    ]));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(stderr.contains("--bootstrap-server"), "{stderr}");
}

#[test]
fn install_aliases_is_idempotent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = run_to_exit(fjord_in(dir.path()).args(["install-aliases", "bin"]));
    assert!(assert_ok(&first).contains("20 links created, 0 replaced, 0 already in place"));
    let again = run_to_exit(fjord_in(dir.path()).args(["install-aliases", "bin"]));
    assert!(assert_ok(&again).contains("0 links created, 0 replaced, 20 already in place"));
    for name in [
        "kafka-topics",
        "kafka-topics.sh",
        "kafka-get-offsets.sh",
        "kafka-server-start",
    ] {
        let link = dir.path().join("bin").join(name);
        assert_eq!(
            std::fs::read_link(&link).expect("a symlink"),
            std::fs::canonicalize(FJORD).expect("binary path")
        );
    }
}

impl Broker {
    /// Runs a seed-guide command line with `input` on stdin (a pipe).
    fn run_with_stdin(&self, line: &str, input: &str) -> Output {
        use std::io::Write as _;
        let line = line.replace("localhost:9092", &self.bootstrap);
        let mut words = line.split_whitespace();
        let program = words.next().expect("a program");
        let mut child = Command::new(self.bin().join(program))
            .args(words)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{program} did not finish within 30 s");
            }
            thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().expect("output")
    }
}

#[test]
fn seed_console_producer_and_consumer_lines() {
    let broker = Broker::start();
    assert_ok(&broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic mon-topic --partitions 3 --replication-factor 1",
    ));
    // The guide's producer line, fed from a pipe.
    let out = broker.run_with_stdin(
        "kafka-console-producer --bootstrap-server localhost:9092 --topic mon-topic",
        "Hello Kafka\nMon premier message\n",
    );
    assert_eq!(assert_ok(&out), "", "no prompt on a pipe");
    let out = broker.run_with_stdin(
        "kafka-console-producer.sh --topic mon-topic --bootstrap-server localhost:9092 --property parse.key=true --property key.separator=:",
        "user-1:{\"a\":1}\n",
    );
    assert_ok(&out);

    // The guide's consumer line with keys, partitions and offsets; --max-messages ends it.
    let out = broker.run(
        "kafka-console-consumer --bootstrap-server localhost:9092 --topic mon-topic --from-beginning --property print.key=true --property print.partition=true --property print.offset=true --max-messages 3",
    );
    let printed = assert_ok(&out);
    let mut lines: Vec<&str> = printed.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.len(), 3, "{printed}");
    let keyed = lines
        .iter()
        .find(|l| l.ends_with("\tuser-1\t{\"a\":1}"))
        .unwrap_or_else(|| panic!("keyed record missing:\n{printed}"));
    assert!(
        keyed.starts_with("Partition:") && keyed.contains("\tOffset:"),
        "{keyed}"
    );
    for value in ["Hello Kafka", "Mon premier message"] {
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with(&format!("\tnull\t{value}"))),
            "{value} missing:\n{printed}"
        );
    }
    assert!(text(&out.stderr).contains("Processed a total of 3 messages"));

    // The .sh spelling, values only; a partition with an offset needs no group.
    let out = broker.run(
        "kafka-console-consumer.sh --topic mon-topic --from-beginning --bootstrap-server localhost:9092 --max-messages 3",
    );
    let mut values: Vec<String> = assert_ok(&out).lines().map(String::from).collect();
    values.sort_unstable();
    assert_eq!(values, ["Hello Kafka", "Mon premier message", "{\"a\":1}"]);
}

/// The producer on a pseudo-terminal prints Kafka's `>` prompt and still sends every line.
#[test]
fn console_producer_on_a_pseudo_terminal() {
    let broker = Broker::start();
    assert_ok(
        &broker.run(
            "kafka-topics --create --bootstrap-server localhost:9092 --topic tty --partitions 1",
        ),
    );
    // python3's pty module gives the producer a terminal on stdin and stdout; the lines are
    // typed into it, then Ctrl-D ends the input.
    let script = format!(
        "import os, pty, sys, time\n\
         pid, fd = pty.fork()\n\
         if pid == 0:\n    os.execv({bin:?}, [{bin:?}, '--bootstrap-server', {bs:?}, '--topic', 'tty'])\n\
         out = b''\n\
         def read_for(seconds):\n    global out\n    end = time.time() + seconds\n    while time.time() < end:\n        try:\n            import select\n            r, _, _ = select.select([fd], [], [], 0.1)\n            if r:\n                out += os.read(fd, 4096)\n        except OSError:\n            return\n\
         read_for(2)\n\
         os.write(fd, b'typed one\\n')\n\
         read_for(0.5)\n\
         os.write(fd, b'typed two\\n')\n\
         read_for(0.5)\n\
         os.write(fd, b'\\x04')\n\
         read_for(5)\n\
         _, status = os.waitpid(pid, 0)\n\
         sys.stdout.write(out.decode('utf-8', 'replace'))\n\
         sys.exit(os.WEXITSTATUS(status))\n",
        bin = broker.bin().join("kafka-console-producer").display().to_string(),
        bs = broker.bootstrap,
    );
    let out = run_to_exit(Command::new("python3").args(["-c", &script]));
    let transcript = assert_ok(&out);
    assert!(
        transcript.contains('>'),
        "no prompt on a terminal:\n{transcript}"
    );
    let out = broker.run(
        "kafka-console-consumer --bootstrap-server localhost:9092 --topic tty --partition 0 --offset earliest --max-messages 2",
    );
    assert_eq!(assert_ok(&out), "typed one\ntyped two\n");
}

#[test]
fn seed_consumer_group_lines() {
    let broker = Broker::start();
    assert_ok(&broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic mon-topic --partitions 3 --replication-factor 1",
    ));
    assert_ok(&broker.run_with_stdin(
        "kafka-console-producer --bootstrap-server localhost:9092 --topic mon-topic",
        "a\nb\nc\n",
    ));
    // A consumer in the guide's group reads everything and commits.
    let out = broker.run(
        "kafka-console-consumer --bootstrap-server localhost:9092 --topic mon-topic --group mon-groupe --from-beginning --max-messages 3",
    );
    assert_eq!(assert_ok(&out).lines().count(), 3);

    let listed =
        assert_ok(&broker.run("kafka-consumer-groups --bootstrap-server localhost:9092 --list"));
    assert!(listed.lines().any(|l| l == "mon-groupe"), "{listed}");

    let described = assert_ok(&broker.run(
        "kafka-consumer-groups --bootstrap-server localhost:9092 --group mon-groupe --describe",
    ));
    let lines: Vec<&str> = described.lines().filter(|l| !l.is_empty()).collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID"
        ],
        "{described}"
    );
    let rows: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 3, "{described}");
    let committed: i64 = rows
        .iter()
        .map(|r| r[3].parse::<i64>().expect("offset"))
        .sum();
    assert_eq!(committed, 3, "{described}");
    assert!(
        rows.iter()
            .all(|r| r[0] == "mon-groupe" && r[1] == "mon-topic" && r[5] == "0"),
        "{described}"
    );

    let reset = assert_ok(&broker.run(
        "kafka-consumer-groups --bootstrap-server localhost:9092 --group mon-groupe --topic mon-topic --reset-offsets --to-earliest --execute",
    ));
    let plan: Vec<Vec<&str>> = reset
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        plan[0],
        ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
        "{reset}"
    );
    assert_eq!(plan.len(), 4, "{reset}");
    assert!(
        plan[1..]
            .iter()
            .all(|r| r[0] == "mon-groupe" && r[3] == "0"),
        "{reset}"
    );

    let described = assert_ok(&broker.run(
        "kafka-consumer-groups --bootstrap-server localhost:9092 --group mon-groupe --describe",
    ));
    let lag: i64 = described
        .lines()
        .filter(|l| l.starts_with("mon-groupe"))
        .map(|l| {
            l.split_whitespace()
                .nth(5)
                .and_then(|v| v.parse::<i64>().ok())
                .expect("lag")
        })
        .sum();
    assert_eq!(
        lag, 3,
        "after the reset every record is lag again:\n{described}"
    );
}

#[test]
fn get_offsets_and_delete_records() {
    let broker = Broker::start();
    assert_ok(&broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic offs --partitions 2",
    ));
    assert_ok(&broker.run_with_stdin(
        "kafka-console-producer --bootstrap-server localhost:9092 --topic offs --property parse.key=true",
        "k\t1\nk\t2\nk\t3\n",
    ));
    let latest =
        assert_ok(&broker.run("kafka-get-offsets --bootstrap-server localhost:9092 --topic offs"));
    let mut lines: Vec<&str> = latest.lines().collect();
    lines.sort_unstable();
    // The same key lands on one partition: three records there, none on the other.
    assert!(
        lines == ["offs:0:0", "offs:1:3"] || lines == ["offs:0:3", "offs:1:0"],
        "{latest}"
    );
    let full = if lines[0] == "offs:0:3" { 0 } else { 1 };

    let json = broker.dir.path().join("delete.json");
    std::fs::write(
        &json,
        format!(
            r#"{{"partitions":[{{"topic":"offs","partition":{full},"offset":2}}],"version":1}}"#
        ),
    )
    .expect("write json");
    let out = broker.run(&format!(
        "kafka-delete-records --bootstrap-server localhost:9092 --offset-json-file {}",
        json.display()
    ));
    assert_eq!(
        assert_ok(&out),
        format!(
            "Executing records delete operation\nRecords delete operation completed:\npartition: offs-{full}\tlow_watermark: 2\n"
        )
    );
    let earliest = assert_ok(&broker.run(&format!(
        "kafka-get-offsets.sh --bootstrap-server localhost:9092 --topic-partitions offs:{full} --time earliest"
    )));
    assert_eq!(earliest, format!("offs:{full}:2\n"));
}

#[test]
fn producer_perf_test_reports_like_kafka() {
    let broker = Broker::start();
    assert_ok(&broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic perf --partitions 1",
    ));
    let out = broker.run(
        "kafka-producer-perf-test --topic perf --num-records 2000 --record-size 100 --throughput -1 --producer-props bootstrap.servers=localhost:9092 acks=1",
    );
    let report = assert_ok(&out);
    let last = report.lines().last().expect("a final line");
    assert!(last.starts_with("2000 records sent, "), "{report}");
    for needle in [
        "records/sec (",
        "MB/sec), ",
        "ms avg latency, ",
        "ms max latency, ",
        "ms 50th, ",
        "ms 95th, ",
        "ms 99th, ",
        "ms 99.9th.",
    ] {
        assert!(last.contains(needle), "{needle} missing: {last}");
    }
    let offsets =
        assert_ok(&broker.run("kafka-get-offsets --bootstrap-server localhost:9092 --topic perf"));
    assert_eq!(offsets, "perf:0:2000\n");
}

#[test]
fn consumer_perf_test_reports_like_kafka() {
    let broker = Broker::start();
    assert_ok(&broker.run(
        "kafka-topics --create --bootstrap-server localhost:9092 --topic cperf --partitions 2",
    ));
    assert_ok(&broker.run(
        "kafka-producer-perf-test --topic cperf --num-records 1000 --record-size 100 --throughput -1 --producer-props bootstrap.servers=localhost:9092",
    ));
    let report = assert_ok(&broker.run(
        "kafka-consumer-perf-test --bootstrap-server localhost:9092 --topic cperf --messages 1000 --group cperf-group --timeout 20000",
    ));
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert_eq!(
        lines[0],
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec"
    );
    let fields: Vec<&str> = lines[1].split(", ").collect();
    assert_eq!(fields.len(), 10, "{report}");
    // 1000 records of 100 bytes, no keys.
    assert_eq!((fields[2], fields[4]), ("0.0954", "1000"), "{report}");
    for (i, field) in fields.iter().enumerate().skip(2) {
        assert!(
            field.parse::<f64>().is_ok(),
            "column {i} not a number: {report}"
        );
    }
    // Kafka's consumer commits in its group: the group shows up with the topic's offsets.
    let groups =
        assert_ok(&broker.run("kafka-consumer-groups --bootstrap-server localhost:9092 --list"));
    assert!(groups.lines().any(|g| g == "cperf-group"), "{groups}");

    // More messages than the topic holds: Kafka's warning after --timeout of silence. As in
    // Kafka, the join (group.initial.rebalance.delay.ms, 3 s) counts against the timeout.
    let short = assert_ok(&broker.run(
        "kafka-consumer-perf-test --bootstrap-server localhost:9092 --topic cperf --messages 5000 --timeout 6000 --hide-header",
    ));
    let lines: Vec<&str> = short.lines().collect();
    assert_eq!(lines.len(), 2, "{short}");
    assert_eq!(
        lines[0],
        "WARNING: Exiting before consuming the expected number of messages: timeout (6000 ms) exceeded. You can use the --timeout option to increase the timeout."
    );
    assert_eq!(lines[1].split(", ").nth(4), Some("1000"), "{short}");
}
