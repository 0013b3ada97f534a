// The suite's shared pieces: one Chromium for the whole run, pages that fail the test when an
// unexpected dialog opens (a dialog from message or topic text would mean markup injection),
// numbered screenshots under BROWSER_ARTIFACTS, and a small client for the console's REST API.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const CONSOLE_URL = requiredEnv("FJORD_CONSOLE_URL");
const BOOTSTRAP = requiredEnv("FJORD_BOOTSTRAP");
const ARTIFACTS = requiredEnv("BROWSER_ARTIFACTS");
const CHROMIUM_BIN = process.env.CHROMIUM_BIN || "/usr/bin/chromium";

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the suite through tests/browser/run`);
  }
  return value;
}

async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    // --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
    // --disable-dev-shm-usage: container /dev/shm is often 64 MB, too small for a renderer.
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

let shotNumber = 0;

/** Saves a full-page screenshot as NN-name.png; returns its path. */
async function screenshot(page, name) {
  shotNumber += 1;
  const file = path.join(
    ARTIFACTS,
    `${String(shotNumber).padStart(2, "0")}-${name.replace(/[^a-z0-9_-]+/gi, "-")}.png`,
  );
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * A page that records every dialog. Dialogs the test expects (the delete confirmation) are
 * accepted through `expectConfirm`; any other dialog is dismissed and recorded in
 * `unexpectedDialogs`, which the tests assert stays empty.
 */
async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const state = { unexpectedDialogs: [], expected: [], pageErrors: [] };
  page.on("dialog", async dialog => {
    const i = state.expected.findIndex(
      e => e.type === dialog.type() && dialog.message().includes(e.contains),
    );
    if (i >= 0) {
      state.expected.splice(i, 1);
      await dialog.accept();
    } else {
      state.unexpectedDialogs.push(`${dialog.type()}: ${dialog.message()}`);
      await dialog.dismiss();
    }
  });
  // An uncaught error in console.js is a bug the user would meet too.
  page.on("pageerror", e => state.pageErrors.push(String(e)));
  page.expectConfirm = contains => state.expected.push({ type: "confirm", contains });
  page.dialogState = state;
  return page;
}

/** Calls the REST API; mutating calls carry the CSRF header. Returns { status, body }. */
async function api(method, route, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET") headers["x-fjord-console"] = "browser-suite";
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`${CONSOLE_URL}/api/v1${route}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text for the message */ }
  return { status: r.status, body: parsed };
}

/** Like `api` but throws unless the status is 2xx. */
async function apiOk(method, route, body) {
  const r = await api(method, route, body);
  if (r.status < 200 || r.status > 299) {
    throw new Error(`${method} ${route} answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

/** Polls `probe` (async, returns a truthy value when done) until it succeeds or times out. */
async function eventually(what, probe, timeoutMs = 15_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (e) {
      last = e;
    }
    await new Promise(resolve => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

/** The text of every cell of the table's body rows, as arrays. */
async function tableRows(page, selector) {
  return page.$$eval(`${selector} tbody tr`, rows =>
    rows.map(r => Array.from(r.cells, c => c.textContent.trim())),
  );
}

module.exports = {
  CONSOLE_URL,
  BOOTSTRAP,
  ARTIFACTS,
  launchBrowser,
  newPage,
  screenshot,
  api,
  apiOk,
  eventually,
  tableRows,
};
