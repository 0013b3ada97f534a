"""What every client sends and expects, so that the scenarios stay the same across clients."""
import json
import time

SEED_READINGS = [
    {"capteur": f"temp-{i % 3}", "valeur": 20.0 + i / 2, "ts": 1_700_000_000 + i} for i in range(10)
]
KEYS = [f"k{i}" for i in range(10)]
KEYED_MESSAGES = [(KEYS[i % 10], f"v{i}") for i in range(30)]
CODECS = ["gzip", "snappy", "lz4", "zstd"]
LARGE_OK = 900 * 1000
LARGE_REFUSED = 2 * 1000 * 1000
MESSAGE_TOO_LARGE = 10
IDEMPOTENT_COUNT = 400
LONG_POLL_WAIT_MS = 5000
LONG_POLL_BOUND_S = 1.0


def seed_values() -> list[bytes]:
    return [json.dumps(r).encode() for r in SEED_READINGS]


def timestamps_base() -> int:
    # Whole seconds, an hour back: inside Kafka's default timestamp bounds.
    return (int(time.time()) - 3600) * 1000


def check_keyed(records: list[tuple[int, int, str, str]]) -> None:
    """records: (partition, offset, key, value) as read back from every partition."""
    assert len(records) == len(KEYED_MESSAGES), f"read {len(records)} of {len(KEYED_MESSAGES)}"
    partitions_of_key: dict[str, set[int]] = {}
    for partition, _, key, _ in records:
        partitions_of_key.setdefault(key, set()).add(partition)
    for key, parts in partitions_of_key.items():
        assert len(parts) == 1, f"key {key} landed on partitions {parts}"
    by_partition: dict[int, list[int]] = {}
    for partition, offset, _, _ in records:
        by_partition.setdefault(partition, []).append(offset)
    for partition, offsets in by_partition.items():
        assert offsets == list(range(len(offsets))), f"partition {partition} offsets {offsets}"
    assert sorted(v for *_, v in records) == sorted(v for _, v in KEYED_MESSAGES)


def check_sequence(values: list[bytes], count: int) -> None:
    got = [int(v) for v in values]
    dupes = len(got) - len(set(got))
    assert got == list(range(count)), (
        f"expected 0..{count - 1} in order; got {len(got)} values, {dupes} duplicates, "
        f"first mismatch at {next((i for i, v in enumerate(got) if v != i), None)}"
    )


def eventually(check, what: str, timeout_s: float = 10.0):
    """Calls check() until it returns a truthy value (returned) or timeout_s passes (AssertionError
    with the last value). For admin changes: the controller acknowledges them before the broker's
    own metadata has caught up, so a describe right after a create may not see them yet."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            last = check()
        except Exception as e:  # a describe of a topic the broker does not know yet raises
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: last answer {last!r}")
        time.sleep(0.1)


async def eventually_async(check, what: str, timeout_s: float = 10.0):
    """eventually() for coroutine checks."""
    import asyncio

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            last = await check()
        except Exception as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: last answer {last!r}")
        await asyncio.sleep(0.1)
