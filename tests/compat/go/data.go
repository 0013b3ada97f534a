package main

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// What every client sends and expects: the Go copy of harness/scenario_data.py. Keep the two
// equal, so that every client runs the same scenario.
const (
	seedCount       = 10
	keyedCount      = 30
	keyCount        = 10
	codecMessages   = 100
	largeOK         = 900 * 1000
	largeRefused    = 2 * 1000 * 1000
	idempotentCount = 400
	longPollWait    = 5 * time.Second
	longPollBound   = time.Second
	// How long a read waits for the records it expects.
	readDeadline = 20 * time.Second
)

var codecs = []string{"gzip", "snappy", "lz4", "zstd"}

// seedValues are the seed guide's sensor readings, serialised the way Python's json.dumps
// writes them ({"capteur": "temp-0", "valeur": 20.0, "ts": 1700000000}).
func seedValues() [][]byte {
	out := make([][]byte, seedCount)
	for i := range out {
		// valeur is 20.0 + i/2: one decimal always, as Python prints that float.
		valeur := strconv.FormatFloat(20.0+float64(i)/2, 'f', 1, 64)
		out[i] = fmt.Appendf(nil, `{"capteur": "temp-%d", "valeur": %s, "ts": %d}`, i%3, valeur, 1_700_000_000+i)
	}
	return out
}

func keyOf(i int) string      { return fmt.Sprintf("k%d", i%keyCount) }
func keyedValue(i int) string { return fmt.Sprintf("v%d", i) }

// timestampsBase is whole seconds an hour back: inside Kafka's default timestamp bounds.
func timestampsBase() int64 {
	return (time.Now().Unix() - 3600) * 1000
}

// keyedRecord is one record of the keyed scenario as read back.
type keyedRecord struct {
	partition int32
	offset    int64
	key       string
	value     string
}

// checkKeyed: every key on one partition, each partition's offsets contiguous from 0, all 30
// values there once.
func checkKeyed(records []keyedRecord) error {
	if len(records) != keyedCount {
		return fmt.Errorf("read %d of %d records", len(records), keyedCount)
	}
	partitionsOfKey := map[string]map[int32]bool{}
	offsets := map[int32][]int64{}
	var values, expected []string
	for _, r := range records {
		if partitionsOfKey[r.key] == nil {
			partitionsOfKey[r.key] = map[int32]bool{}
		}
		partitionsOfKey[r.key][r.partition] = true
		offsets[r.partition] = append(offsets[r.partition], r.offset)
		values = append(values, r.value)
	}
	for key, parts := range partitionsOfKey {
		if len(parts) != 1 {
			return fmt.Errorf("key %s landed on partitions %v", key, parts)
		}
	}
	for p, offs := range offsets {
		for i, o := range offs {
			if o != int64(i) {
				return fmt.Errorf("partition %d offsets %v", p, offs)
			}
		}
	}
	for i := 0; i < keyedCount; i++ {
		expected = append(expected, keyedValue(i))
	}
	sort.Strings(values)
	sort.Strings(expected)
	if fmt.Sprint(values) != fmt.Sprint(expected) {
		return fmt.Errorf("values %v, expected %v", values, expected)
	}
	return nil
}

// checkSequence: the values are exactly "0".."count-1", in order.
func checkSequence(values [][]byte, count int) error {
	seen := map[string]bool{}
	dupes := 0
	firstMismatch := -1
	for i, v := range values {
		if seen[string(v)] {
			dupes++
		}
		seen[string(v)] = true
		if firstMismatch < 0 && string(v) != strconv.Itoa(i) {
			firstMismatch = i
		}
	}
	if len(values) != count || firstMismatch >= 0 {
		return fmt.Errorf("expected 0..%d in order; got %d values, %d duplicates, first mismatch at %d",
			count-1, len(values), dupes, firstMismatch)
	}
	return nil
}
