// The nine scenarios of ../SCENARIOS.md with kafkajs's public API: producer, admin, and (for
// reading, which kafkajs only does through a group) the consumer.
'use strict'

const { ConfigResourceTypes } = require('kafkajs')
const { data, codecTypes, kafka, check, equal, sleep, readThroughGroup } = require('./support')

/** Runs `fn` with a connected producer and disconnects it afterwards. */
async function withProducer(ctx, options, fn) {
  const producer = kafka(ctx).producer(options)
  await producer.connect()
  try {
    return await fn(producer)
  } finally {
    await producer.disconnect()
  }
}

async function withAdmin(ctx, fn) {
  const admin = kafka(ctx).admin()
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.disconnect()
  }
}

/** Checks, without any group, that the partitions' end offsets are what was produced. */
async function checkEndOffsets(ctx, expected) {
  await withAdmin(ctx, async admin => {
    const offsets = await admin.fetchTopicOffsets(ctx.topic)
    const got = {}
    for (const { partition, high } of offsets) {
      got[partition] = Number(high)
    }
    for (const [partition, high] of Object.entries(expected)) {
      equal(high, got[partition], `end offset of partition ${partition}`)
    }
  })
}

/** Walks an error's causes (kafkajs wraps the broker's error in retry errors). */
function errorTypes(e) {
  const types = []
  for (let cur = e; cur; cur = cur.cause || cur.originalError) {
    types.push(cur.type || cur.name)
  }
  return types
}

async function seed(ctx) {
  // The seed guide's producer and consumer, apart from the address and the group name.
  const values = data.seedValues()
  const producer = kafka(ctx).producer()
  await producer.connect()
  await producer.send({ topic: ctx.topic, messages: values.map(value => ({ value })) })
  await producer.disconnect()
  await checkEndOffsets(ctx, { 0: values.length })
  const read = await readThroughGroup(ctx, values.length)
  equal(values, read.map(r => r.message.value.toString()), 'readings read back')
}

async function keyed(ctx) {
  await withAdmin(ctx, admin =>
    admin.createTopics({ topics: [{ topic: ctx.topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true })
  )
  const messages = []
  for (let i = 0; i < data.KEYED_COUNT; i++) {
    messages.push({ key: data.keyOf(i), value: data.keyedValue(i) })
  }
  await withProducer(ctx, {}, producer => producer.send({ topic: ctx.topic, messages }))
  const read = await readThroughGroup(ctx, data.KEYED_COUNT)
  equal(data.KEYED_COUNT, read.length, 'messages read back')
  const partitionsOfKey = new Map()
  const offsets = new Map()
  for (const { partition, offset, message } of read) {
    const key = message.key.toString()
    partitionsOfKey.set(key, (partitionsOfKey.get(key) || new Set()).add(partition))
    offsets.set(partition, [...(offsets.get(partition) || []), offset])
  }
  for (const [key, parts] of partitionsOfKey) {
    check(parts.size === 1, `key ${key} landed on partitions ${[...parts]}`)
  }
  for (const [partition, offs] of offsets) {
    equal([...offs.keys()], offs, `offsets of partition ${partition}`)
  }
  equal(
    messages.map(m => m.value).sort(),
    read.map(r => r.message.value.toString()).sort(),
    'values read back'
  )
}

async function headers(ctx) {
  const ts = data.timestampsBase()
  await withProducer(ctx, {}, producer =>
    producer.send({
      topic: ctx.topic,
      // kafkajs refuses a null header value, so the second header is empty instead.
      messages: [{ key: 'the-key', value: 'the-value', headers: { h1: 'v1', h2: '' }, timestamp: String(ts) }],
    })
  )
  const [r] = await readThroughGroup(ctx, 1)
  check(r, 'the message was not read back')
  const m = r.message
  equal(['the-key', 'the-value', String(ts)], [m.key.toString(), m.value.toString(), m.timestamp], 'key, value, timestamp')
  equal(['h1', 'h2'], Object.keys(m.headers), 'header keys')
  equal('v1', m.headers.h1 && m.headers.h1.toString(), 'header h1')
  check(Buffer.isBuffer(m.headers.h2) && m.headers.h2.length === 0, `header h2 is ${m.headers.h2}, expected empty`)
}

async function compression(ctx) {
  const expected = []
  for (const codec of data.CODECS) {
    const messages = []
    for (let i = 0; i < data.CODEC_MESSAGES; i++) {
      messages.push({ value: `${codec}-${i}` })
    }
    expected.push(...messages.map(m => m.value))
    await withProducer(ctx, {}, producer =>
      producer.send({ topic: ctx.topic, compression: codecTypes[codec], messages })
    )
    console.log(`produced with ${codec}`)
  }
  await checkEndOffsets(ctx, { 0: expected.length })
  const read = await readThroughGroup(ctx, expected.length)
  equal(expected, read.map(r => r.message.value.toString()), 'values read back')
}

async function large(ctx) {
  // kafkajs has no client-side size limit: whatever it sends, the broker judges. (It does not
  // retry MESSAGE_TOO_LARGE, so the default retries only help the topic's auto-creation.)
  await withProducer(ctx, {}, async producer => {
    await producer.send({ topic: ctx.topic, acks: 1, messages: [{ value: Buffer.alloc(data.LARGE_OK, 'x') }] })
    let refused = null
    try {
      await producer.send({ topic: ctx.topic, acks: 1, messages: [{ value: Buffer.alloc(data.LARGE_REFUSED, 'y') }] })
    } catch (e) {
      refused = e
    }
    check(refused !== null, 'a 2 MB message was accepted')
    const types = errorTypes(refused)
    check(types.includes('MESSAGE_TOO_LARGE'), `expected MESSAGE_TOO_LARGE, got ${types.join(' <- ')}: ${refused.message}`)
  })
  await checkEndOffsets(ctx, { 0: 1 })
  const read = await readThroughGroup(ctx, 1, { maxBytesPerPartition: 2_000_000, maxBytes: 4_000_000 })
  equal(1, read.length, 'messages read back')
  equal(data.LARGE_OK, read[0].message.value.length, 'size of the large value')
}

async function idempotentRestart(ctx) {
  const options = {
    idempotent: true,
    // kafkajs keeps sequence numbers right only with one request in flight.
    maxInFlightRequests: 1,
    // Enough retries to ride out the broker's restart (a few seconds).
    retry: { retries: 15, initialRetryTime: 200, maxRetryTime: 2000 },
  }
  await withProducer(ctx, options, async producer => {
    for (let i = 0; i < data.IDEMPOTENT_COUNT; i++) {
      // One send at a time: kafkajs's idempotent producer assigns sequence numbers per send and
      // does not support concurrent sends.
      await producer.send({ topic: ctx.topic, acks: -1, messages: [{ partition: 0, value: String(i) }] })
      if (i === 50) {
        console.log('READY')
      }
      await sleep(10)
    }
  })
  console.log(`all ${data.IDEMPOTENT_COUNT} sends acknowledged`)
  await checkEndOffsets(ctx, { 0: data.IDEMPOTENT_COUNT })
  const read = await readThroughGroup(ctx, data.IDEMPOTENT_COUNT)
  const values = read.map(r => Number(r.message.value.toString()))
  const expected = [...Array(data.IDEMPOTENT_COUNT).keys()]
  const firstMismatch = values.findIndex((v, i) => v !== i)
  check(
    JSON.stringify(values) === JSON.stringify(expected),
    `expected 0..${data.IDEMPOTENT_COUNT - 1} in order; got ${values.length} values, ` +
      `${values.length - new Set(values).size} duplicates, first mismatch at ${firstMismatch}`
  )
}

/** Polls `condition` every 100 ms for up to 10 s: admin changes reach the broker's metadata a
 * moment after the controller acknowledged them. */
async function eventually(condition, failure) {
  const deadline = Date.now() + 10_000
  let last
  while (Date.now() < deadline) {
    try {
      if (await condition()) {
        return
      }
    } catch (e) {
      last = e
    }
    await sleep(100)
  }
  throw new Error(last ? `${failure}: ${last.message}` : failure)
}

async function admin(ctx) {
  await withAdmin(ctx, async admin => {
    const topic = ctx.topic
    const created = await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }] })
    check(created === true, `createTopics answered ${created}`)
    const partitions = async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
      return topics[0].partitions.length
    }
    await eventually(async () => (await partitions()) === 3, 'the topic does not have 3 partitions')
    // kafkajs has only the (non-incremental) AlterConfigs API.
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
      ],
    })
    let retention
    await eventually(async () => {
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
      })
      const entry = described.resources[0].configEntries.find(e => e.configName === 'retention.ms')
      retention = entry && entry.configValue
      return retention === '3600000'
    }, 'retention.ms was not altered').catch(e => {
      throw new Error(`${e.message} (describe configs says ${retention})`)
    })
    await admin.createPartitions({ topicPartitions: [{ topic, count: 5 }] })
    await eventually(async () => (await partitions()) === 5, 'partitions not added')
    await admin.deleteTopics({ topics: [topic] })
    await eventually(async () => !(await admin.listTopics()).includes(topic), 'topic still listed after delete')
  })
}

async function timestamps(ctx) {
  const t0 = data.timestampsBase()
  const messages = []
  for (let i = 0; i < 10; i++) {
    messages.push({ partition: 0, value: `t${i}`, timestamp: String(t0 + i * 1000) })
  }
  await withProducer(ctx, {}, producer => producer.send({ topic: ctx.topic, messages }))
  await withAdmin(ctx, async admin => {
    const [found] = await admin.fetchTopicOffsetsByTimestamp(ctx.topic, t0 + 4500)
    equal({ partition: 0, offset: '5' }, found, 'offset for t0 + 4500')
    // kafkajs turns the broker's "no such offset" (-1) into the partition's end offset.
    const [after] = await admin.fetchTopicOffsetsByTimestamp(ctx.topic, t0 + 60_000)
    equal({ partition: 0, offset: '10' }, after, 'offset for a timestamp after the last message')
  })
}

async function longPoll(ctx) {
  await withProducer(ctx, {}, async producer => {
    await producer.send({ topic: ctx.topic, messages: [{ partition: 0, value: 'warm-up' }] })
    console.log('NEEDS-GROUPS')
    const consumer = kafka(ctx).consumer({
      groupId: `compat-${ctx.runId}-long-poll`,
      maxWaitTimeInMs: data.LONG_POLL_WAIT_MS,
      minBytes: 1,
    })
    await consumer.connect()
    try {
      let fetching
      const firstFetch = new Promise(resolve => {
        fetching = resolve
      })
      consumer.on(consumer.events.FETCH_START, () => fetching())
      let arrived
      const gotMessage = new Promise(resolve => {
        arrived = resolve
      })
      let crash = null
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        // kafkajs restarts the consumer itself after a retriable error.
        if (!payload.restart) {
          crash = payload.error
          arrived(null)
          fetching()
        }
      })
      await consumer.subscribe({ topics: [ctx.topic], fromBeginning: false })
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          if (message.value.toString() === 'wake-up') {
            arrived(process.hrtime.bigint())
          }
        },
      })
      // Once the group is joined and the consumer fetches at the end of the partition, give it
      // a second to be parked in its long poll, then send.
      await firstFetch
      check(!crash, `consumer crashed: ${crash && crash.message}`)
      await sleep(1000)
      const sentAt = process.hrtime.bigint()
      await producer.send({ topic: ctx.topic, messages: [{ partition: 0, value: 'wake-up' }] })
      const gotAt = await Promise.race([gotMessage, sleep(15_000).then(() => null)])
      check(!crash, `consumer crashed: ${crash && crash.message}`)
      check(gotAt !== null, 'the message never arrived')
      const latencyMs = Number(gotAt - sentAt) / 1e6
      console.log(`latency ${latencyMs.toFixed(1)} ms`)
      check(latencyMs < data.LONG_POLL_BOUND_MS, `message took ${latencyMs.toFixed(0)} ms to reach a waiting consumer`)
    } finally {
      await consumer.disconnect()
    }
  })
}

module.exports = {
  seed,
  keyed,
  headers,
  compression,
  large,
  'idempotent-restart': idempotentRestart,
  admin,
  timestamps,
  'long-poll': longPoll,
}
