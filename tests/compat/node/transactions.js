// The kafkajs transaction roles (`node driver.js kafkajs txn-*`, the contract in ../SCENARIOS.md,
// "Transaction roles"): each does what its scenario asks with kafkajs's transactional producer
// and its (group-based) consumers, and prints one JSON line per event on stdout;
// harness/txn_checks.py decides whether what it reports is right.
'use strict'

const { performance } = require('perf_hooks')
const { kafka, sleep, readThroughGroup } = require('./support')

// The same data as harness/txn_checks.py (keep the two equal).
const values = (prefix, count) => [...Array(count).keys()].map(i => `${prefix}${i}`)
const VIS_SCRIPT = [
  ['txn-committed', values('c', 5)],
  ['plain-sent', values('n', 3)],
  ['txn-aborted', values('a', 5)],
  ['txn-committed', values('d', 3)],
]
const ZOMBIE_VALUES = ['zombie-1', 'zombie-2']
const SURVIVOR_VALUES = ['survivor']

function emit(event, fields = {}) {
  const ts = Math.round((performance.timeOrigin + performance.now()) * 1000)
  process.stdout.write(JSON.stringify({ event, ts, ...fields }) + '\n')
}

async function txnProducer(ctx, transactionalId) {
  const producer = kafka(ctx).producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  return producer
}

const toMessages = vals => vals.map(value => ({ value, partition: 0 }))

async function visibility(ctx) {
  const producer = await txnProducer(ctx, `vis-${ctx.runId}`)
  const plain = kafka(ctx).producer({ idempotent: true, maxInFlightRequests: 1 })
  await plain.connect()
  try {
    for (const [step, vals] of VIS_SCRIPT) {
      if (step === 'plain-sent') {
        await plain.send({ topic: ctx.topic, messages: toMessages(vals) })
      } else {
        const txn = await producer.transaction()
        // send() resolves once acknowledged: the aborted records are in the log before the abort.
        await txn.send({ topic: ctx.topic, messages: toMessages(vals) })
        await (step === 'txn-committed' ? txn.commit() : txn.abort())
      }
      emit(step, { values: vals })
    }
  } finally {
    await producer.disconnect()
    await plain.disconnect()
  }
  const committedCount = VIS_SCRIPT.filter(([s]) => s !== 'txn-aborted').reduce((n, [, v]) => n + v.length, 0)
  const allCount = VIS_SCRIPT.reduce((n, [, v]) => n + v.length, 0)
  for (const [isolation, count] of [['read_committed', committedCount], ['read_uncommitted', allCount]]) {
    const read = await readThroughGroup(ctx, count, { readUncommitted: isolation === 'read_uncommitted' })
    emit('read', { isolation, values: read.map(r => r.message.value.toString()) })
  }
  const admin = kafka(ctx).admin()
  await admin.connect()
  try {
    const [p0] = await admin.fetchTopicOffsets(ctx.topic)
    // kafkajs's admin asks ListOffsets at its cluster's default isolation level.
    emit('end_offset', { isolation: 'kafkajs-admin', offset: Number(p0.high) })
  } finally {
    await admin.disconnect()
  }
}

function errorText(e) {
  const parts = []
  for (let cur = e; cur; cur = cur.cause || cur.originalError) {
    parts.push(`${cur.type || cur.name}: ${cur.message}`)
  }
  return parts.join(' <- ')
}

async function zombie(ctx) {
  const tid = `zombie-${ctx.runId}`
  const first = await txnProducer(ctx, tid)
  const txn = await first.transaction()
  await txn.send({ topic: ctx.topic, messages: toMessages(ZOMBIE_VALUES.slice(0, 1)) })
  const second = await txnProducer(ctx, tid)
  // kafkajs runs InitProducerId for the transactional id when the first transaction begins.
  const t2 = await second.transaction()
  emit('initialized', { producer: 2 })
  try {
    await txn.send({ topic: ctx.topic, messages: toMessages(ZOMBIE_VALUES.slice(1)) })
    await txn.commit()
    emit('not-fenced')
  } catch (e) {
    emit('fenced', { error: errorText(e) })
  }
  await first.disconnect()
  await t2.send({ topic: ctx.topic, messages: toMessages(SURVIVOR_VALUES) })
  await t2.commit()
  emit('txn-committed', { values: SURVIVOR_VALUES })
  await second.disconnect()
}

async function consumeTransformProduce(ctx) {
  const env = process.env
  const group = env.GROUP
  const delayMs = Number(env.RECORD_DELAY_MS || '10')
  const producer = await txnProducer(ctx, env.TRANSACTIONAL_ID)
  const consumer = kafka(ctx).consumer({
    groupId: group,
    sessionTimeout: Number(env.SESSION_TIMEOUT_MS || '6000'),
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
    // kafkajs has no max.poll.records: a batch is what one fetch returns, at most this many bytes.
    maxBytesPerPartition: 256,
  })
  let stopping = false
  let stopped
  const finished = new Promise(resolve => {
    stopped = resolve
  })
  process.stdin.on('end', () => {
    stopping = true
    stopped()
  })
  process.stdin.resume()
  await consumer.connect()
  await consumer.subscribe({ topics: [env.INPUT_TOPIC], fromBeginning: true })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) {
      emit('error', { message: `consumer crashed: ${payload.error && payload.error.message}` })
      stopped()
    }
  })
  const maxRecords = Number(env.MAX_POLL_RECORDS || '20')
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // A fetch returns whole record batches (the input's may hold a hundred records): one
    // transaction per MAX_POLL_RECORDS of them, as the other clients' polls are bounded.
    eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
      for (let start = 0; start < batch.messages.length; start += maxRecords) {
        if (stopping || !isRunning() || isStale()) {
          return
        }
        const chunk = batch.messages.slice(start, start + maxRecords)
        const txn = await producer.transaction()
        const vals = []
        try {
          for (const message of chunk) {
            const value = message.value.toString()
            await txn.send({
              topic: env.OUTPUT_TOPIC,
              messages: [{ key: message.key, value: `out-${value}`, partition: batch.partition }],
            })
            vals.push(value)
            emit('sent', { value })
            await sleep(delayMs)
          }
          const last = chunk[chunk.length - 1].offset
          await txn.sendOffsets({
            consumerGroupId: group,
            topics: [
              { topic: batch.topic, partitions: [{ partition: batch.partition, offset: String(Number(last) + 1) }] },
            ],
          })
          await txn.commit()
          resolveOffset(last)
        } catch (e) {
          await txn.abort()
          throw e
        }
        emit('txn-committed', { values: vals })
      }
    },
  })
  await finished
  await consumer.disconnect()
  await producer.disconnect()
}

const roles = {
  'txn-visibility': visibility,
  'txn-zombie': zombie,
  'txn-consume-transform-produce': consumeTransformProduce,
}

/** Runs a role; its events on stdout, `stopped` at its end. Throws what the role threw. */
async function runRole(name, ctx) {
  await roles[name](ctx)
  emit('stopped')
}

module.exports = { roles, runRole }
