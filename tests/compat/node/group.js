// The kafkajs group-member role (`node driver.js kafkajs group-member`, the contract in
// ../SCENARIOS.md): join GROUP on TOPIC, print one JSON line per event on stdout, commit each
// batch once its records are printed, and leave the group when stdin closes or on SIGTERM.
//
// kafkajs rebalances eagerly and has no revocation callback: its REBALANCING event (emitted
// after the fetch loop has stopped and before it rejoins) is reported as the revocation of
// everything the member owned, and GROUP_JOIN carries the new assignment.
//
// ASSIGNOR: "roundrobin" is kafkajs's own assigner (protocol name "RoundRobinAssigner", which no
// other client knows); "range" is RangeAssigner below, under the protocol name the Java client
// and librdkafka use for theirs, so that kafkajs can join a group with them.
'use strict'

const { performance } = require('perf_hooks')
const { AssignerProtocol, PartitionAssigners } = require('kafkajs')
const { kafka } = require('./support')

const { MemberMetadata, MemberAssignment } = AssignerProtocol

function emit(event, fields = {}) {
  const ts = Math.round((performance.timeOrigin + performance.now()) * 1000)
  process.stdout.write(JSON.stringify({ event, ts, ...fields }) + '\n')
}

/**
 * The range assignment (as Kafka's RangeAssignor defines it): per topic, the members that
 * subscribe to it sorted by member id, the partitions in order; each member gets a contiguous
 * run of floor(partitions / members), and the first (partitions % members) one more.
 */
const RangeAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,

  async assign({ members, topics }) {
    const subscriptions = new Map()
    for (const { memberId, memberMetadata } of members) {
      let subscribed = topics
      try {
        // Other clients send later versions of the subscription; its first fields are the same.
        subscribed = MemberMetadata.decode(memberMetadata).topics
      } catch (e) {
        // Undecodable: assume the group's topics, as every member here subscribes to the same.
      }
      subscriptions.set(memberId, new Set(subscribed))
    }
    const assignment = {}
    for (const memberId of subscriptions.keys()) {
      assignment[memberId] = {}
    }
    for (const topic of topics) {
      const memberIds = [...subscriptions.keys()].filter(id => subscriptions.get(id).has(topic)).sort()
      if (memberIds.length === 0) {
        continue
      }
      const partitions = cluster
        .findTopicPartitionMetadata(topic)
        .map(m => m.partitionId)
        .sort((a, b) => a - b)
      const each = Math.floor(partitions.length / memberIds.length)
      const extra = partitions.length % memberIds.length
      let next = 0
      memberIds.forEach((memberId, i) => {
        const count = each + (i < extra ? 1 : 0)
        if (count > 0) {
          assignment[memberId][topic] = partitions.slice(next, next + count)
        }
        next += count
      })
    }
    return Object.keys(assignment).map(memberId => ({
      memberId,
      memberAssignment: MemberAssignment.encode({
        version: this.version,
        assignment: assignment[memberId],
        userData: Buffer.alloc(0),
      }),
    }))
  },

  protocol({ topics }) {
    return {
      name: this.name,
      metadata: MemberMetadata.encode({ version: this.version, topics, userData: Buffer.alloc(0) }),
    }
  },
})

const ASSIGNORS = { range: RangeAssigner, roundrobin: PartitionAssigners.roundRobin }

/** Runs the member until it is told to stop; resolves to the driver's exit code. */
async function groupMember(env) {
  for (const key of ['BOOTSTRAP', 'TOPIC', 'GROUP']) {
    if (!env[key]) {
      console.error(`environment variable ${key} is not set`)
      return 2
    }
  }
  const topic = env.TOPIC
  const assignor = ASSIGNORS[env.ASSIGNOR || 'range']
  if (!assignor) {
    console.error(`unknown assignor ${env.ASSIGNOR} (known: ${Object.keys(ASSIGNORS).join(', ')})`)
    return 2
  }
  const consumer = kafka({ bootstrap: env.BOOTSTRAP, runId: env.RUN_ID || 'member' }).consumer({
    groupId: env.GROUP,
    partitionAssigners: [assignor],
    sessionTimeout: Number(env.SESSION_TIMEOUT_MS || 6000),
    heartbeatInterval: Number(env.HEARTBEAT_INTERVAL_MS || 1000),
    // disconnect() waits for the fetch in flight.
    maxWaitTimeInMs: 500,
  })

  let owned = []
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    owned = [...(payload.memberAssignment[topic] || [])].sort((a, b) => a - b)
    // leader: this member computed the group's assignment (with its own assigner).
    emit('assigned', { partitions: owned, leader: payload.isLeader })
  })
  consumer.on(consumer.events.REBALANCING, () => {
    emit('revoked', { partitions: owned })
    owned = []
  })

  let finish
  const finished = new Promise(resolve => {
    finish = resolve
  })
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) {
      finish({ error: payload.error })
    }
  })
  process.stdin.on('end', () => finish({}))
  process.stdin.resume()
  process.on('SIGTERM', () => finish({}))
  const lifetime = setTimeout(() => finish({}), Number(env.MEMBER_MAX_S || 120) * 1000)

  try {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
        let last = null
        for (const message of batch.messages) {
          if (!isRunning() || isStale()) {
            break
          }
          emit('record', { partition: batch.partition, offset: Number(message.offset), value: message.value.toString() })
          resolveOffset(message.offset)
          last = Number(message.offset)
        }
        if (last !== null) {
          const next = last + 1
          await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(next) }])
          emit('committed', { offsets: { [batch.partition]: next } })
        }
      },
    })
    const { error } = await finished
    if (error) {
      throw error
    }
    // disconnect() stops fetching, waits for the batch in progress and sends LeaveGroup.
    await consumer.disconnect()
    emit('stopped')
    return 0
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e))
    emit('error', { message: String(e && e.message ? e.message : e) })
    await consumer.disconnect().catch(() => {})
    return 1
  } finally {
    clearTimeout(lifetime)
  }
}

module.exports = { groupMember, RangeAssigner }
