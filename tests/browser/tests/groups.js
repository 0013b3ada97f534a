// Consumer-group tests, registered into console.test.js (one file keeps one Chromium): a real
// kafkajs consumer group reads a topic while the console's group pages are watched.
//
// Parts of the console that are not there yet (a group page with lag per partition, the offset
// reset form) make their tests SKIP with the reason printed, never pass silently.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const { CONSOLE_URL, api, apiOk, eventually, tableRows } = require("../lib/harness");
const { produceMany, startSlowConsumer } = require("../lib/kafka");

const LAG_TOPIC = "browser-lag";
const GROUP = "browser-suite-group";
const MESSAGES = 300;

function skipLoudly(t, reason) {
  console.log(`\n*** SKIPPED "${t.name}": ${reason} ***\n`);
  t.skip(reason);
}

/** Finds the column whose header is exactly `label` in the first table that has one. */
async function columnValues(page, label) {
  return page.$$eval("main table", (tables, label) => {
    for (const table of tables) {
      const heads = Array.from(table.querySelectorAll("thead th"), th => th.textContent.trim());
      const i = heads.findIndex(h => h.toLowerCase() === label.toLowerCase());
      if (i >= 0) {
        return Array.from(table.tBodies[0].rows, r => (r.cells[i] ? r.cells[i].textContent.trim() : ""));
      }
    }
    return null;
  }, label);
}

/** Total lag shown on the group page (sum of the Lag column; "-"/"—" counts as unknown). */
async function shownLag(page, route) {
  await page.goto(`${CONSOLE_URL}${route}`);
  const cells = await columnValues(page, "Lag");
  if (!cells) return null;
  const numbers = cells.map(c => Number(c.replace(/[, ]/g, ""))).filter(n => Number.isFinite(n));
  return numbers.length === cells.length && cells.length > 0 ? numbers.reduce((a, b) => a + b, 0) : NaN;
}

function groupTests(getPage, { visit, screenshot }) {
  describe("consumer groups", () => groupSuite(getPage, { visit, screenshot }));
}

function groupSuite(getPage, { visit, screenshot }) {
  let consumer = null;
  // What the console offers for groups, found once: GET /api/v1/groups and GET /groups.
  const has = { api: false, page: false, why: "" };

  before(async () => {
    await apiOk("POST", "/topics", { name: LAG_TOPIC, partitions: 2 });
    await produceMany(LAG_TOPIC, MESSAGES);
    const listed = await api("GET", "/groups");
    const page = await fetch(`${CONSOLE_URL}/groups`);
    has.api = listed.status === 200;
    has.page = page.status === 200;
    has.why = `GET /api/v1/groups answered ${listed.status}, GET /groups answered ${page.status}`;
  });

  after(async () => {
    if (consumer) await consumer.stop().catch(() => {});
  });

  test("a consumer group reading a topic appears on the Consumers page", async t => {
    const page = getPage();
    if (!has.api || !has.page) {
      skipLoudly(t, `the console has no consumer-group list yet (${has.why})`);
      return;
    }
    // 10 ms per message: 300 messages take ~3 s once released, long enough to watch lag fall.
    consumer = await startSlowConsumer(LAG_TOPIC, GROUP, 10);
    await eventually("the group to be Stable with one member", async () => {
      const { groups } = await apiOk("GET", "/groups");
      const g = groups.find(g => g.group_id === GROUP);
      return g && g.state === "Stable" && g.members.length === 1;
    }, 20_000);
    await visit("/groups");
    const nav = await page.$$eval("header nav a.active", links => links.map(a => a.textContent.trim()));
    assert.equal(nav.length, 1, "the Consumers page is not marked in the navigation bar");
    const rows = await tableRows(page, "#groups");
    const row = rows.find(r => r[0] === GROUP);
    assert.ok(row, `group ${GROUP} not listed: ${JSON.stringify(rows)}`);
    assert.ok(row.includes("Stable"), `group row has no Stable state: ${row}`);
    await screenshot(page, "groups-list");
    // The group's own page names the owner of each partition by client id.
    await eventually("the group page to show the member's client id", async () => {
      await visit(`/groups/${GROUP}`);
      return (await page.textContent("main")).includes("browser-suite-consumer");
    }, 10_000, 250);
  });

  test("a group's lag falls while its consumer reads", async t => {
    const page = getPage();
    const route = `/groups/${GROUP}`;
    if (!consumer) {
      skipLoudly(t, `no consumer group to watch: the console has no consumer-group list yet (${has.why})`);
      return;
    }
    const probe = await page.goto(`${CONSOLE_URL}${route}`);
    const lag = probe.status() === 200 ? await columnValues(page, "Lag") : null;
    if (!lag) {
      consumer.release();
      skipLoudly(t, `the console has no group page with a Lag column yet (GET ${route} answered ${probe.status()})`);
      return;
    }
    await screenshot(page, "group-before-reading");
    const seen = [];
    consumer.release();
    await eventually("the lag to reach 0", async () => {
      const total = await shownLag(page, route);
      if (Number.isFinite(total)) seen.push(total);
      return total === 0;
    }, 30_000, 250);
    await screenshot(page, "group-caught-up");
    const distinct = seen.filter((v, i) => i === 0 || v !== seen[i - 1]);
    assert.ok(distinct.length >= 3, `lag did not fall in steps: ${distinct}`);
    for (let i = 1; i < distinct.length; i++) {
      assert.ok(distinct[i] < distinct[i - 1], `lag rose while the consumer read: ${distinct}`);
    }
    assert.ok(distinct[0] > 0, `lag never above 0: ${distinct}`);

    // The topic page lists the group reading it, with its lag on this topic and a link to it.
    await page.goto(`${CONSOLE_URL}/topics/${LAG_TOPIC}`);
    const rows = await page.$$eval("#topic-groups tbody tr", trs =>
      trs.map(tr => ({
        cells: Array.from(tr.cells, c => c.textContent.trim()),
        href: tr.querySelector("a") && tr.querySelector("a").getAttribute("href"),
      })));
    const row = rows.find(r => r.cells[0] === GROUP);
    assert.ok(row, `the topic page does not list ${GROUP}: ${JSON.stringify(rows)}`);
    assert.equal(row.href, `/groups/${GROUP}`);
    assert.equal(row.cells[row.cells.length - 1], "0", `lag on the topic page: ${row.cells}`);
    await screenshot(page, "topic-with-groups");
    await page.click(`#topic-groups a[href="/groups/${GROUP}"]`);
    await page.waitForLoadState();
    assert.ok(page.url().endsWith(`/groups/${GROUP}`), `the link led to ${page.url()}`);
  });

  test("reset a group's offsets to earliest while it is empty", async t => {
    const page = getPage();
    const route = `/groups/${GROUP}`;
    if (!consumer) {
      skipLoudly(t, `no consumer group to reset: the console has no consumer-group list yet (${has.why})`);
      return;
    }
    // The group must be empty to reset: stop the consumer and wait for the state.
    await consumer.stop();
    consumer = null;
    await eventually("the group to be Empty", async () => {
      const { groups } = await apiOk("GET", "/groups");
      const g = groups.find(g => g.group_id === GROUP);
      return g && g.state === "Empty";
    }, 20_000);
    const probe = await page.goto(`${CONSOLE_URL}${route}`);
    const form = probe.status() === 200 ? await page.$("form[action*='reset']") : null;
    if (!form) {
      skipLoudly(t, `the console has no offset reset form yet (GET ${route} answered ${probe.status()}, no form[action*=reset])`);
      return;
    }
    const lagBefore = await shownLag(page, route);
    await page.selectOption("form[action*='reset'] select[name=to]", "earliest");
    await page.click("form[action*='reset'] button");
    await page.waitForLoadState();
    const lagAfter = await shownLag(page, route);
    await screenshot(page, "group-reset-earliest");
    assert.equal(lagAfter, MESSAGES, `after reset to earliest the lag is ${lagAfter} (before ${lagBefore})`);
  });
}

module.exports = { groupTests };
