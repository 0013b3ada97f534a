// Real Kafka client traffic for the group pages: kafkajs (pinned in package.json) producing to
// and consuming from the fjord under test, so the console shows what an ordinary client did.
"use strict";

const { Kafka, logLevel } = require("kafkajs");
const { BOOTSTRAP } = require("./harness");

function client(clientId) {
  return new Kafka({
    clientId,
    brokers: [BOOTSTRAP],
    logLevel: logLevel.NOTHING,
    retry: { retries: 8, initialRetryTime: 100 },
  });
}

/** Produces kafkajs messages (`{ key, value, partition, headers }`, Buffers allowed) with acks=all. */
async function produce(topic, messages) {
  const producer = client("browser-suite-producer").producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    return await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Produces `count` small JSON messages to `topic` (round robin over its partitions). */
async function produceMany(topic, count) {
  const messages = [];
  for (let i = 0; i < count; i++) {
    messages.push({ value: JSON.stringify({ n: i, from: "kafkajs" }) });
  }
  await produce(topic, messages);
}

/**
 * Starts a consumer in `groupId` reading `topic` from the earliest offset slowly
 * (`delayMs` per message, committing every 300 ms), so the group's lag falls over a few
 * seconds instead of at once. `gate` pauses consumption until `release()` is called, so the
 * test can look at the lag while the group is Stable and nothing is consumed yet.
 */
async function startSlowConsumer(topic, groupId, delayMs) {
  const consumer = client("browser-suite-consumer").consumer({
    groupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 200,
  });
  let release;
  const gate = new Promise(resolve => { release = resolve; });
  let consumed = 0;
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: true,
    autoCommitInterval: 300,
    eachMessage: async () => {
      await gate;
      await new Promise(resolve => setTimeout(resolve, delayMs));
      consumed += 1;
    },
  });
  return {
    release: () => release(),
    consumed: () => consumed,
    stop: () => consumer.disconnect(),
  };
}

module.exports = { produce, produceMany, startSlowConsumer };
