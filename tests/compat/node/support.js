// What the kafkajs scenarios share: the scenario data (the JavaScript copy of
// harness/scenario_data.py; keep the two equal), the Kafka client with every compression codec
// registered, the group-based reader, and small assertion helpers.
'use strict'

const { Kafka, CompressionTypes, CompressionCodecs, logLevel } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const LZ4Codec = require('kafkajs-lz4')
const ZstdCodec = require('@kafkajs/zstd')

// kafkajs does gzip itself; the other codecs are separate packages that register themselves here.
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec
CompressionCodecs[CompressionTypes.ZSTD] = ZstdCodec()

const data = {
  SEED_COUNT: 10,
  KEYED_COUNT: 30,
  KEY_COUNT: 10,
  CODECS: ['gzip', 'snappy', 'lz4', 'zstd'],
  CODEC_MESSAGES: 100,
  LARGE_OK: 900 * 1000,
  LARGE_REFUSED: 2 * 1000 * 1000,
  IDEMPOTENT_COUNT: 400,
  LONG_POLL_WAIT_MS: 5000,
  LONG_POLL_BOUND_MS: 1000,
  READ_DEADLINE_MS: 20_000,

  // The seed guide's sensor readings, serialised the way Python's json.dumps writes them.
  seedValues() {
    const out = []
    for (let i = 0; i < this.SEED_COUNT; i++) {
      // valeur is 20.0 + i/2: one decimal always, as Python prints that float.
      const valeur = (20 + i / 2).toFixed(1)
      out.push(`{"capteur": "temp-${i % 3}", "valeur": ${valeur}, "ts": ${1_700_000_000 + i}}`)
    }
    return out
  },
  keyOf: i => `k${i % 10}`,
  keyedValue: i => `v${i}`,
  // Whole seconds an hour back: inside Kafka's default timestamp bounds.
  timestampsBase: () => (Math.floor(Date.now() / 1000) - 3600) * 1000,
}

const codecTypes = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

/** Thrown when kafkajs cannot do what a scenario asks; the driver exits 3. */
class Unsupported extends Error {}

function kafka(ctx) {
  const debug = process.env.DRIVER_DEBUG === '1'
  return new Kafka({
    clientId: `compat-kafkajs-${ctx.runId}`,
    brokers: [ctx.bootstrap],
    logLevel: debug ? logLevel.DEBUG : logLevel.ERROR,
  })
}

function check(condition, message) {
  if (!condition) {
    throw new Error(message)
  }
}

function equal(expected, actual, what) {
  const e = JSON.stringify(expected)
  const a = JSON.stringify(actual)
  check(e === a, `${what}: expected ${e}, got ${a}`)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

let groupsAnnounced = false
let groupCount = 0

/**
 * Reads the scenario's topic from the beginning through a fresh consumer group until `count`
 * messages arrived (or the deadline passed); returns {partition, offset, message} in arrival
 * order. kafkajs cannot read without a group, hence NEEDS-GROUPS.
 */
async function readThroughGroup(ctx, count, consumerOptions = {}) {
  if (!groupsAnnounced) {
    console.log('NEEDS-GROUPS')
    groupsAnnounced = true
  }
  const consumer = kafka(ctx).consumer({
    groupId: `compat-${ctx.runId}-${groupCount++}`,
    maxWaitTimeInMs: 500,
    ...consumerOptions,
  })
  const out = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [ctx.topic], fromBeginning: true })
    let done
    const finished = new Promise(resolve => {
      done = resolve
    })
    // A consumer that cannot join its group crashes after its own retries, and kafkajs restarts
    // it when the error is retriable (a coordinator still loading its partitions, say). Stop
    // waiting only when kafkajs gives up.
    let crash = null
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) {
        crash = payload.error
        done()
      }
    })
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        out.push({ partition, offset: Number(message.offset), message })
        if (out.length >= count) {
          done()
        }
      },
    })
    await Promise.race([finished, sleep(data.READ_DEADLINE_MS)])
    if (crash) {
      throw new Error(`consumer crashed after ${out.length} of ${count} messages: ${crash.message}`)
    }
  } finally {
    await consumer.disconnect()
  }
  return out
}

module.exports = { data, codecTypes, Unsupported, kafka, check, equal, sleep, readThroughGroup }
