#!/usr/bin/env node
// The kafkajs driver of the fjord compatibility suite: `node driver.js kafkajs SCENARIO` with
// BOOTSTRAP, TOPIC and RUN_ID in the environment (the driver contract in ../SCENARIOS.md).
//
// Exit codes: 0 the scenario passed, 1 it failed, 2 bad invocation, 3 the client cannot do what
// the scenario asks (the harness reports a skip). The last line on stderr gives the reason.
//
// kafkajs has no consumer without a consumer group (no manual partition assignment), so every
// read goes through a group; the driver prints NEEDS-GROUPS on stdout before the first one, and
// the harness treats a failure after that line as "needs groups" when the broker has none.
'use strict'

// Set before kafkajs is loaded: the seed example creates its producer without a partitioner,
// which makes kafkajs log a migration warning that has nothing to do with the scenario.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const scenarios = require('./scenarios')
const { groupMember } = require('./group')
const { Unsupported } = require('./support')
const { roles: txnRoles, runRole } = require('./transactions')

const EXIT = { passed: 0, failed: 1, usage: 2, unsupported: 3 }
// Every scenario finishes within 60 s (SCENARIOS.md).
const SCENARIO_TIMEOUT_MS = 60_000

async function main(argv) {
  if (argv.length !== 2) {
    console.error('usage: driver.js CLIENT SCENARIO (CLIENT is kafkajs)')
    return EXIT.usage
  }
  const [client, name] = argv
  if (client !== 'kafkajs') {
    console.error(`unknown client ${client}: this driver is for kafkajs`)
    return EXIT.usage
  }
  if (name === 'group-member') {
    // Not a scenario: a long-running group member the harness drives (group.js).
    return groupMember(process.env)
  }
  // The transaction roles print events that the harness checks (transactions.js).
  const run = scenarios[name] || (txnRoles[name] && (ctx => runRole(name, ctx)))
  if (!run) {
    console.error(`unknown scenario ${name} (known: ${Object.keys(scenarios).join(', ')})`)
    return EXIT.usage
  }
  const ctx = {}
  for (const key of ['BOOTSTRAP', 'TOPIC', 'RUN_ID']) {
    if (!process.env[key]) {
      console.error(`environment variable ${key} is not set`)
      return EXIT.usage
    }
  }
  ctx.bootstrap = process.env.BOOTSTRAP
  ctx.topic = process.env.TOPIC
  ctx.runId = process.env.RUN_ID

  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scenario did not finish within ${SCENARIO_TIMEOUT_MS} ms`)), SCENARIO_TIMEOUT_MS)
  })
  try {
    await Promise.race([run(ctx), timeout])
    console.log(`PASS ${name}`)
    return EXIT.passed
  } catch (e) {
    if (e instanceof Unsupported) {
      console.error(e.message)
      return EXIT.unsupported
    }
    console.error(e && e.stack ? e.stack : String(e))
    // The harness shows the last stderr line as the reason: keep it one line.
    console.error(`FAIL ${name}: ${String(e && e.message ? e.message : e).replace(/\n/g, ' ')}`)
    return EXIT.failed
  } finally {
    clearTimeout(timer)
  }
}

main(process.argv.slice(2)).then(
  code => process.exit(code),
  e => {
    console.error(`FAIL driver: ${e}`)
    process.exit(EXIT.failed)
  }
)
