// The web console in headless Chromium: what a user does in Kafka-UI, done in fjord's own
// console against a real broker. The tests run in order and build on each other: a topic is
// created through the form, produced to through the Produce form and the REST API, browsed,
// followed with the live tail, read by a real consumer group, and deleted at the end.
// Every page visited is saved as a screenshot (see lib/harness.js).
"use strict";

const { test, before, after, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const {
  CONSOLE_URL,
  launchBrowser,
  newPage,
  screenshot,
  api,
  apiOk,
  eventually,
  tableRows,
} = require("../lib/harness");
const { groupTests } = require("./groups");
const { produce } = require("../lib/kafka");

const TOPIC = "browser-orders";
const HOSTILE = "<script>alert('xss')</script><img src=x onerror=\"alert('img')\">";

let browser;
let page;

before(async () => {
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  if (browser) await browser.close();
});

// After each test: no dialog the test did not ask for, no script error in the page.
afterEach(async t => {
  const { unexpectedDialogs, pageErrors } = page.dialogState;
  const problems = [...unexpectedDialogs, ...pageErrors.map(e => `page error: ${e}`)];
  unexpectedDialogs.length = 0;
  pageErrors.length = 0;
  if (problems.length > 0) {
    await screenshot(page, `${t.name}-unexpected`);
    throw new Error(`during "${t.name}": ${problems.join("; ")}`);
  }
});

async function visit(route, shot) {
  const response = await page.goto(`${CONSOLE_URL}${route}`);
  assert.ok(response, `no response for ${route}`);
  assert.equal(response.status(), 200, `GET ${route} answered ${response.status()}`);
  if (shot) await screenshot(page, shot);
  return response;
}

test("dashboard shows the cluster and one navigation bar leads to every page", async () => {
  const cluster = await apiOk("GET", "/cluster");
  await visit("/", "dashboard");
  const text = await page.textContent("main");
  assert.ok(text.includes(cluster.cluster_id), `dashboard does not show cluster id ${cluster.cluster_id}`);
  const nav = await page.$$eval("header nav a", links => links.map(a => a.textContent.trim()));
  for (const label of ["Dashboard", "Brokers", "Topics"]) {
    assert.ok(nav.includes(label), `navigation bar lacks ${label}: ${nav}`);
  }
  await page.click("header nav >> text=Brokers");
  await page.waitForURL(/\/brokers$/);
  const brokers = await page.textContent("main");
  assert.match(brokers, /127\.0\.0\.1/, "brokers page shows no listener");
  await screenshot(page, "brokers");
  await page.click("header nav >> text=Topics");
  await page.waitForURL(/\/topics$/);
  await screenshot(page, "topics");
});

test("create a topic through the form, with validation messages for bad input", async () => {
  await visit("/topics");
  // A name Kafka refuses: the controller's message comes back in the page, the input kept.
  await page.fill("form.create input[name=name]", "bad name!");
  await page.click("form.create button");
  const error = await page.textContent("p.error[role=alert]");
  assert.match(error, /bad name!|invalid|illegal/i, `unexpected validation message: ${error}`);
  assert.equal(await page.inputValue("form.create input[name=name]"), "bad name!");
  await screenshot(page, "topics-create-invalid");

  await page.fill("form.create input[name=name]", TOPIC);
  await page.fill("form.create input[name=partitions]", "3");
  await page.fill("form.create textarea[name=configs]", "retention.ms=86400000");
  await page.click("form.create button");
  await page.waitForURL(new RegExp(`/topics/${TOPIC}$`));
  assert.equal((await page.textContent(".topic-name")).trim(), TOPIC);
  const partitions = await tableRows(page, "#partitions");
  assert.equal(partitions.length, 3, `expected 3 partitions, got ${JSON.stringify(partitions)}`);
  const configs = await tableRows(page, "#configs-table");
  const retention = configs.find(r => r[0] === "retention.ms");
  assert.ok(retention, "retention.ms missing from the configs table");
  assert.equal(retention[1], "86400000");
  await screenshot(page, "topic-created");

  // Creating it again is refused with Kafka's "already exists".
  await visit("/topics");
  await page.fill("form.create input[name=name]", TOPIC);
  await page.click("form.create button");
  assert.match(await page.textContent("p.error[role=alert]"), /exist/i);
  await screenshot(page, "topics-create-duplicate");

  // The list finds it by search.
  await visit(`/topics?q=${TOPIC}`);
  const rows = await tableRows(page, "#topics");
  assert.deepEqual(rows.map(r => r[0]), [TOPIC]);
  assert.equal(rows[0][1], "3");
  await screenshot(page, "topics-search");
});

test("produce through the Produce form and through the REST API", async () => {
  await visit(`/topics/${TOPIC}/produce`, "produce-form");
  await page.selectOption("form.produce select[name=partition]", "0");
  await page.fill("form.produce input[name=key]", "order-1");
  await page.fill("form.produce textarea[name=value]", '{"id":1,"item":"kayak","qty":2}');
  await page.fill("form.produce textarea[name=headers]", "source: browser-suite");
  await page.click("form.produce button");
  const ok = await page.textContent("p.ok[role=status]");
  assert.match(ok, /partition 0 at offset 0/, `unexpected produce notice: ${ok}`);
  await screenshot(page, "produce-done");

  for (let i = 2; i <= 6; i++) {
    const produced = await apiOk("POST", `/topics/${TOPIC}/messages`, {
      key: `order-${i}`,
      value: JSON.stringify({ id: i, item: "paddle", qty: i }),
      headers: [{ key: "source", value: "rest-api" }],
      partition: i % 3,
    });
    assert.equal(produced.partition, i % 3);
  }
  const detail = await apiOk("GET", `/topics/${TOPIC}`);
  const total = detail.partitions.reduce((n, p) => n + (p.high_watermark || 0), 0);
  assert.equal(total, 6, `end offsets sum to ${total}, expected 6`);
});

test("the dashboard's live charts show produced messages per second", async () => {
  await apiOk("POST", "/topics", { name: "browser-chart", partitions: 1 });
  await visit("/");
  // The script samples /api/v1/throughput every 2 s and draws the difference: keep producing
  // until a sample shows messages coming in.
  const shown = await eventually("a non-zero messages/s in", async () => {
    await apiOk("POST", "/topics/browser-chart/messages", { value: "tick" });
    const now = await page.textContent('[data-now="messages"]');
    const points = await page.$eval('svg[data-chart="messages"] polyline.in', l => l.points.length);
    return /^in (?!0\.0 )\d/.test(now.trim()) && points >= 2 && now;
  }, 15_000, 250);
  assert.match(shown, /out/);
  await screenshot(page, "dashboard-charts");
});

test("browse from earliest, filter, and open one message whole", async () => {
  await visit(`/topics/${TOPIC}/messages?seek=earliest&limit=50`, "messages-earliest");
  const rows = await tableRows(page, "#messages");
  assert.equal(rows.length, 6, `expected 6 messages, got ${rows.length}`);
  assert.equal((await page.textContent("#count")).trim(), "6");
  // The JSON value is pretty-printed (class json), not shown as one line.
  const first = await page.$eval(
    "#messages tbody tr:has(td:nth-child(4) pre:text-is('order-1')) td:nth-child(5) pre",
    pre => ({ cls: pre.className, text: pre.textContent }),
  );
  assert.equal(first.cls, "json");
  assert.ok(first.text.includes('\n'), `JSON value not pretty-printed: ${first.text}`);
  assert.ok(first.text.includes('"item": "kayak"'), first.text);
  const header = await page.textContent("#messages tbody tr:has(pre:text-is('order-1')) td:nth-child(6)");
  assert.match(header, /source:\s*browser-suite/);

  // One partition only, through the form's select.
  await page.selectOption("form.browse select[name=partition]", "1");
  await page.selectOption("form.browse select[name=seek]", "earliest");
  await page.click("form.browse button:text-is('Show')");
  await page.waitForURL(/partition=1/);
  const p1 = await tableRows(page, "#messages");
  assert.ok(p1.length > 0 && p1.every(r => r[0] === "1"), `partition filter: ${JSON.stringify(p1)}`);
  await screenshot(page, "messages-partition-1");

  // Text filter.
  await visit(`/topics/${TOPIC}/messages?seek=earliest&q=kayak`, "messages-filter");
  const filtered = await tableRows(page, "#messages");
  assert.equal(filtered.length, 1, `filter kayak: ${JSON.stringify(filtered)}`);

  // From an offset.
  await visit(`/topics/${TOPIC}/messages?partition=0&seek=offset&offset=1`);
  const fromOffset = await tableRows(page, "#messages");
  assert.ok(fromOffset.every(r => Number(r[1]) >= 1), JSON.stringify(fromOffset));

  // The offset link opens the message page.
  await visit(`/topics/${TOPIC}/messages?seek=earliest&q=kayak`);
  await page.click("#messages tbody tr td:nth-child(2) a");
  await page.waitForURL(/\/messages\/0\/0$/);
  assert.match(await page.textContent("main"), /kayak/);
  await screenshot(page, "message-one");
});

test("live tail shows messages produced after the page was opened", async () => {
  await visit(`/topics/${TOPIC}/messages?seek=latest`);
  const before = await page.$$eval("#messages tbody tr", rows => rows.length);
  await page.click("#tail");
  assert.equal((await page.textContent("#tail")).trim(), "Stop tail");
  const values = ["tail-a", "tail-b", "tail-c"];
  for (const v of values) {
    await apiOk("POST", `/topics/${TOPIC}/messages`, { key: "tail", value: v });
    await new Promise(resolve => setTimeout(resolve, 300));
  }
  await eventually("the tailed messages", async () => {
    const text = await page.textContent("#messages tbody");
    return values.every(v => text.includes(v));
  }, 10_000);
  const after = await page.$$eval("#messages tbody tr", rows => rows.length);
  assert.equal(after, before + values.length, `tail added ${after - before} rows, expected 3`);
  assert.equal((await page.textContent("#count")).trim(), String(after));
  await screenshot(page, "messages-live-tail");
  await page.click("#tail");
  assert.equal((await page.textContent("#tail")).trim(), "Live tail");
});

test("hostile topic names and message contents render as text, no script runs", async () => {
  // Kafka's topic-name rules refuse markup; the refusal must show the name as text.
  await visit("/topics");
  await page.fill("form.create input[name=name]", HOSTILE.slice(0, 200));
  await page.click("form.create button");
  await page.waitForSelector("p.error[role=alert]");
  assert.equal(await page.$("main img"), null, "an <img> from the topic name became markup");
  assert.equal(await page.inputValue("form.create input[name=name]"), HOSTILE.slice(0, 200));
  await screenshot(page, "hostile-topic-name");
  const byApi = await api("POST", "/topics", { name: HOSTILE, partitions: 1 });
  assert.equal(byApi.status, 400, `hostile topic name: ${JSON.stringify(byApi)}`);
  // A search for markup is echoed back as text too.
  await visit(`/topics?q=${encodeURIComponent(HOSTILE)}`, "hostile-search");
  assert.equal(await page.inputValue("form.search input[name=q]"), HOSTILE);

  // Markup in key, value and header, through the Produce form and the API.
  await visit(`/topics/${TOPIC}/produce`);
  await page.fill("form.produce input[name=key]", HOSTILE);
  await page.fill("form.produce textarea[name=value]", HOSTILE);
  await page.fill("form.produce textarea[name=headers]", `x-hostile: ${HOSTILE}`);
  await page.click("form.produce button");
  await page.waitForSelector("p.ok[role=status]");
  await apiOk("POST", `/topics/${TOPIC}/messages`, {
    key: "hostile-api",
    value: `{"html": ${JSON.stringify(HOSTILE)}}`,
    headers: [{ key: HOSTILE, value: HOSTILE }],
  });

  await visit(`/topics/${TOPIC}/messages?seek=earliest&q=xss&limit=50`, "hostile-messages");
  const cells = await page.$$eval("#messages tbody pre", pres => pres.map(p => p.textContent));
  assert.ok(cells.filter(t => t.includes("<script>")).length >= 3, `markup not shown as text: ${cells}`);
  assert.equal(await page.$("#messages img"), null, "an <img> from a message became markup");
  assert.equal(await page.$("#messages script"), null, "a <script> from a message became markup");

  // The live tail builds rows in the browser: the same contents arriving there.
  await visit(`/topics/${TOPIC}/messages?seek=latest`);
  await page.click("#tail");
  await apiOk("POST", `/topics/${TOPIC}/messages`, { key: HOSTILE, value: HOSTILE });
  await eventually("the hostile message in the tail", async () =>
    (await page.textContent("#messages tbody")).includes("onerror="));
  assert.equal(await page.$("#messages img"), null, "the live tail turned a message into markup");
  await screenshot(page, "hostile-live-tail");
  await page.click("#tail");

  // The single-message page.
  await visit(`/topics/${TOPIC}/messages?seek=earliest&q=hostile-api`);
  await page.click("#messages tbody tr td:nth-child(2) a");
  await page.waitForURL(/\/messages\/\d+\/\d+$/);
  assert.match(await page.textContent("main"), /<script>alert\('xss'\)<\/script>/);
  assert.equal(await page.$("main img"), null);
  await screenshot(page, "hostile-message-one");
  // Give any injected handler (img onerror fires asynchronously) time to run before
  // afterEach checks that no dialog opened.
  await page.waitForTimeout(300);
});

test("a large value is cut with a link to it whole; invalid UTF-8 shows as hex", async () => {
  const big = "fjord ".repeat(50_000); // 300,000 bytes of text
  const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3, 0x28]); // not UTF-8
  await produce(TOPIC, [
    { partition: 2, key: "big-value", value: big },
    { partition: 2, key: "binary-value", value: binary },
  ]);
  await visit(`/topics/${TOPIC}/messages?partition=2&seek=earliest&limit=100`, "messages-large-binary");
  const bigRow = "#messages tbody tr:has(td:nth-child(4) pre:text-is('big-value'))";
  const shownText = await page.$eval(`${bigRow} td:nth-child(5) pre`, pre => pre.textContent);
  assert.ok(shownText.length <= 4096 && shownText.length > 0, `list shows ${shownText.length} chars`);
  assert.match(await page.textContent(`${bigRow} td:nth-child(5) a.more`), /show all 300000 bytes/);
  const hex = await page.$eval(
    "#messages tbody tr:has(td:nth-child(4) pre:text-is('binary-value')) td:nth-child(5) pre",
    pre => ({ cls: pre.className, text: pre.textContent }),
  );
  assert.deepEqual(hex, { cls: "binary", text: "fffe0041c328" });

  await page.click(`${bigRow} td:nth-child(5) a.more`);
  await page.waitForURL(/\/messages\/2\/\d+$/);
  const whole = await page.$$eval("main pre", pres => pres.map(p => p.textContent.length));
  assert.ok(whole.includes(big.length), `message page pre lengths ${whole}, expected ${big.length}`);
  await screenshot(page, "message-large-whole");
});

groupTests(() => page, { visit, screenshot });

test("delete the topic after confirming, and it is gone", async () => {
  await visit(`/topics/${TOPIC}`);
  // Without typing the name, nothing is deleted.
  await page.fill("form.danger input[name=confirm]", "not-the-name");
  page.expectConfirm(TOPIC);
  await page.click("form.danger button");
  await page.waitForLoadState();
  assert.match(await page.textContent("main"), /type the topic name/i);
  await screenshot(page, "topic-delete-refused");
  assert.equal((await api("GET", `/topics/${TOPIC}`)).status, 200, "deleted without confirmation");

  // Dismissing the browser's confirmation keeps the topic too.
  await visit(`/topics/${TOPIC}`);
  await page.fill("form.danger input[name=confirm]", TOPIC);
  await page.click("form.danger button"); // no expectConfirm: the dialog is dismissed ...
  await page.waitForTimeout(300);
  assert.equal(page.url(), `${CONSOLE_URL}/topics/${TOPIC}`);
  // ... and recorded as unexpected: clear it, it was this test's own.
  const dismissed = page.dialogState.unexpectedDialogs.splice(0);
  assert.equal(dismissed.length, 1, `expected one dismissed confirm, got ${dismissed}`);
  assert.match(dismissed[0], /^confirm: Delete topic browser-orders/);

  page.expectConfirm(TOPIC);
  await page.click("form.danger button");
  await page.waitForURL(/\/topics$/);
  await screenshot(page, "topic-deleted");
  const rows = await tableRows(page, "#topics");
  assert.ok(!rows.some(r => r[0] === TOPIC), "the deleted topic is still listed");
  await eventually("the topic to be gone from the API", async () =>
    (await api("GET", `/topics/${TOPIC}`)).status === 404);
  const gone = await page.goto(`${CONSOLE_URL}/topics/${TOPIC}`);
  assert.equal(gone.status(), 404);
  await screenshot(page, "topic-gone");
});
