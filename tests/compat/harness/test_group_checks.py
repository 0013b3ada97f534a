"""The group invariants of group_members, on hand-written event logs: each check passes on a
correct history and fails on the violation it exists to catch. No broker needed."""
import pytest

import group_members as gm


def member(name, *events, killed_at_us=None):
    m = gm.Member(name=name, command=[], env={})
    m.events = [dict(e) for e in events]
    m.killed_at_us = killed_at_us
    return m


def assigned(ts, *partitions, generation=None):
    e = {"event": "assigned", "ts": ts, "partitions": list(partitions)}
    if generation is not None:
        e["generation"] = generation
    return e


def revoked(ts, *partitions):
    return {"event": "revoked", "ts": ts, "partitions": list(partitions)}


def record(ts, partition, offset, value="v"):
    return {"event": "record", "ts": ts, "partition": partition, "offset": offset, "value": value}


def committed(ts, partition, next_offset):
    return {"event": "committed", "ts": ts, "offsets": {str(partition): next_offset}}


def stopped(ts):
    return {"event": "stopped", "ts": ts}


def test_eager_handover_is_exclusive():
    a = member("a", assigned(10, 0, 1, 2, generation=1), revoked(20, 0, 1, 2), assigned(30, 0, 1, generation=2), stopped(90))
    b = member("b", assigned(31, 2, generation=2), stopped(95))
    gm.check_exclusive([a, b])


def test_overlapping_ownership_fails():
    a = member("a", assigned(10, 0, 1, 2), revoked(40, 0, 1, 2), stopped(90))
    b = member("b", assigned(30, 2), stopped(95))
    with pytest.raises(AssertionError, match="partition 2 owned by a until 40 and by b from 30"):
        gm.check_exclusive([a, b])


def test_same_generation_double_assignment_fails():
    # Stamps that do not overlap cannot hide two owners of one partition in one generation.
    a = member("a", assigned(10, 0, 1, generation=5), revoked(20, 0, 1), stopped(90))
    b = member("b", assigned(21, 1, 2, generation=5), stopped(95))
    with pytest.raises(AssertionError, match="generation 5: partition 1"):
        gm.check_exclusive([a, b])


def test_cooperative_increments_are_tracked():
    a = member("a", assigned(10, 0, 1, 2, generation=1), revoked(20, 2), assigned(21, generation=2), stopped(90))
    b = member("b", assigned(30, generation=2), assigned(40, 2, generation=3), stopped(95))
    gm.check_exclusive([a, b])
    assert a.owned() == set() and gm.ownership_intervals(a)[0] == [(10, 90)]


def test_record_outside_ownership_fails():
    a = member("a", assigned(10, 0), record(15, 0, 0), revoked(20, 0), record(25, 0, 1), stopped(90))
    with pytest.raises(AssertionError, match="offset 1 of partition 0 at 25 while it did not own"):
        gm.check_exclusive([a])


def test_killed_member_owns_until_the_kill():
    b = member("b", assigned(10, 1), record(12, 1, 0), killed_at_us=50)
    a = member("a", assigned(60, 0, 1), stopped(90))
    gm.check_exclusive([a, b])
    late = member("late", assigned(40, 1), stopped(90))
    with pytest.raises(AssertionError, match="partition 1"):
        gm.check_exclusive([late, b])


def test_delivery_loss_duplicates_and_values():
    produced = {(0, 0): "x", (0, 1): "y"}
    ok = member("a", assigned(1, 0), record(2, 0, 0, "x"), record(3, 0, 1, "y"))
    gm.check_delivery([ok], produced)
    lost = member("a", assigned(1, 0), record(2, 0, 0, "x"))
    with pytest.raises(AssertionError, match="1 of 2 records never delivered"):
        gm.check_delivery([lost], produced)
    twice = member("b", assigned(4, 0), record(5, 0, 1, "y"))
    with pytest.raises(AssertionError, match="delivered more than once"):
        gm.check_delivery([ok, twice], produced)
    gm.check_delivery([ok, twice], produced, allowed_duplicates={(0, 1)})
    wrong = member("a", assigned(1, 0), record(2, 0, 0, "x"), record(3, 0, 1, "z"))
    with pytest.raises(AssertionError, match="has value 'z'"):
        gm.check_delivery([wrong], produced)


def test_redeliverable_after_kill_is_what_was_not_committed():
    b = member(
        "b",
        assigned(1, 0, 1),
        record(2, 0, 0),
        record(3, 0, 1),
        committed(4, 0, 2),
        record(5, 0, 2),
        record(6, 1, 0),
        killed_at_us=10,
    )
    assert gm.redeliverable_after_kill(b) == {(0, 2), (1, 0)}
