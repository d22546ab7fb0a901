// Drives the map page in Debian's headless Chromium (playwright-core, no browser download) and reports what it
// shows, as one JSON object per line on stdout.
//
//   node web/e2e/map.mjs BASE_URL SCREENSHOT.png [SECTOR]
//       loads the page, waits for sectors, flights and occupancy, clicks SECTOR (resource names, comma-separated:
//       the first a click can open) if given,
//       saves a screenshot, prints the states and exits (non-zero on any failure).
//   node web/e2e/map.mjs --interactive BASE_URL
//       the same steps, one per command read from stdin (one JSON object a line), so a test can change the
//       service between them (browser_test.go):
//         {"cmd":"state","feedTime":"RFC 3339"}  wait until flights, occupancy and the status show that cycle
//         {"cmd":"click","sectors":["sets/x/sectors/Y", ...]}  click inside the first of the sectors a click can
//             open (one covered whole by smaller ones, as EGTT by its sub-sectors, opens only from "also
//             here"), wait for its panel
//         {"cmd":"clickOccupant"}  click the panel's first occupant, wait for its flight summary
//         {"cmd":"shading","mode":"coverage"|"occupancy"}  press the Coverage button if the map does not shade
//             by that already, wait for the redraw; answers the map's pixel digest and, for coverage, the
//             shares the page computed (every sector with occupants) and its timing for 3,000 flights
//         {"cmd":"expandController","id":"123"}  expand that controller of the open sector panel, wait for its
//             session's radio figures; answers them and the flights listed as working it now
//         {"cmd":"clickWorking","flight":"456"}  click that flight (or, without, the first) among those working
//             the expanded controller, wait for its flight summary
//         {"cmd":"screenshot","path":"file.png"}
//         {"cmd":"quit"}
//
// Every wait is on a condition of the page (its #status data-* attributes, the panel's elements), never a
// sleep. Errors the page throws or logs are reported with every answer (pageErrors), for the caller to fail on.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const waitMs = Number(process.env.MAP_E2E_TIMEOUT_MS || 60_000);

const args = process.argv.slice(2);
const interactive = args[0] === "--interactive";
if (interactive) args.shift();
const [baseURL, screenshotPath, sectorArg] = args;
if (!baseURL || (!interactive && !screenshotPath)) {
  console.error("usage: node map.mjs BASE_URL SCREENSHOT.png [SECTOR] | node map.mjs --interactive BASE_URL");
  process.exit(2);
}

const pageErrors = [];
const say = (obj) => process.stdout.write(JSON.stringify({ ...obj, pageErrors }) + "\n");

const profile = mkdtempSync(join(tmpdir(), "vatsector-e2e-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    // No sandbox: CI runs as root. No GPU: Leaflet draws on 2D canvases. The rest keep Chromium from calling
    // Google's services, which this machine's closed network refuses (slowly, many at a time).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
    viewport: { width: 1400, height: 800 },
    deviceScaleFactor: 1,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (err) => pageErrors.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") pageErrors.push(`console: ${msg.text()}`);
  });
  await page.goto(baseURL, { waitUntil: "load", timeout: waitMs });

  const commands = {
    state: (c) => waitForCycle(page, c.feedTime),
    click: (c) => clickSector(page, c.sectors),
    clickOccupant: () => clickOccupant(page),
    shading: (c) => setShading(page, c.mode),
    expandController: (c) => expandController(page, c.id),
    clickWorking: (c) => clickWorking(page, c.flight),
    screenshot: async (c) => {
      await page.screenshot({ path: c.path });
      return { event: "screenshot", path: c.path };
    },
  };

  if (interactive) {
    say({ event: "loaded" });
    for await (const line of createInterface({ input: process.stdin })) {
      if (!line.trim()) continue;
      const c = JSON.parse(line);
      if (c.cmd === "quit") {
        say({ event: "quit" });
        break;
      }
      const run = commands[c.cmd];
      if (!run) throw new Error(`unknown command ${JSON.stringify(c.cmd)}`);
      say(await run(c));
    }
  } else {
    say(await commands.state({}));
    if (sectorArg) say(await commands.click({ sectors: sectorArg.split(",") }));
    say(await commands.screenshot({ path: screenshotPath }));
  }
} catch (err) {
  say({ event: "error", message: String(err?.stack || err) });
  process.exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}

/** The status element's data-* attributes: what the page says it shows. */
function readStatus(page) {
  return page.evaluate(() => ({ ...document.getElementById("status").dataset }));
}

/**
 * Waits until the page shows the cycle of feedTime everywhere (or, without feedTime, any cycle): the
 * ingestion status, the flights drawn and the occupancy state. Returns the state and a fingerprint of the
 * map's pixels, so a caller can tell that the drawing changed from one cycle to the next.
 */
async function waitForCycle(page, feedTime) {
  try {
    await page.waitForFunction(
      (want) => {
        const d = document.getElementById("status").dataset;
        if (!(Number(d.sectors) > 0) || !d.flightsAsOf || !d.occupancyFeedTime || !d.feedTime) return false;
        if (d.health === "connecting") return false; // the server's verdict on ingestion has not come yet
        if (!want) return true;
        return d.feedTime === want && d.flightsAsOf === want && d.occupancyFeedTime === want;
      },
      feedTime ?? "",
      { timeout: waitMs, polling: 100 },
    );
  } catch (err) {
    throw new Error(`the page did not show cycle ${feedTime || "(any)"}: status ${JSON.stringify(await readStatus(page))}: ${err.message}`);
  }
  return {
    event: "state",
    status: await readStatus(page),
    mapDigest: await mapDigest(page),
  };
}

/** A fingerprint of the map's pixels, once Leaflet has drawn what the page last changed. */
async function mapDigest(page) {
  // Leaflet redraws its canvases on the next animation frame: wait for two, so the pixels are the new ones.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const pixels = await page.locator("#map").screenshot();
  const { createHash } = await import("node:crypto");
  return createHash("sha256").update(pixels).digest("hex");
}

async function setShading(page, mode) {
  const button = page.locator("#coverage-toggle");
  const current = await page.evaluate(() => document.getElementById("status").dataset.shading);
  if (current !== mode) await button.click();
  await page.waitForFunction(
    (want) => document.getElementById("status").dataset.shading === want && document.getElementById("legend").dataset.shading === want,
    mode,
    { timeout: waitMs, polling: 100 },
  );
  const answer = {
    event: "shading",
    mode,
    pressed: await button.getAttribute("aria-pressed"),
    legend: await page.locator("#legend").innerText(),
    status: await readStatus(page),
    mapDigest: await mapDigest(page),
  };
  if (mode === "coverage") {
    answer.coverage = await page.evaluate(() => window.vatsector.coverageShares());
    answer.bench = await page.evaluate(() => window.vatsector.benchCoverage(3000));
  }
  return answer;
}

async function clickSector(page, names) {
  // The page's own hook says where a click opens a sector (it asks the index the click handler asks); the
  // click itself is a real one, through the mouse.
  const found = await page.evaluate((list) => {
    const hook = window.vatsector;
    // In the view as it is first (a user clicks what they see); only then zoomed to each sector in turn.
    for (const n of list) {
      const p = hook.pointInside(n);
      if (p) return { name: n, point: p };
    }
    for (const n of list) {
      const p = hook.fitSector(n) ? hook.pointInside(n) : null;
      if (p) return { name: n, point: p };
    }
    return null;
  }, names);
  if (!found) throw new Error(`no point of the map opens any of ${names.join(", ")} (drawn? covered by smaller sectors?)`);
  const { name, point } = found;
  const box = await page.locator("#map").boundingBox();
  await page.mouse.click(box.x + point.x, box.y + point.y);
  const panel = page.locator(`#panel[data-sector="${name}"]`);
  await panel.waitFor({ state: "visible", timeout: waitMs });
  // Each part of the panel loads on its own; wait for all three to settle, with their figures or an error.
  const parts = {
    occupants: "#panel .occupants-box",
    traffic: "#panel .traffic-chart",
    staffing: "#panel .staffing-grid",
    controllers: "#panel .controllers",
  };
  await page.waitForFunction(
    (sel) => Object.values(sel).every((s) => document.querySelector(s)) || document.querySelector("#panel .error"),
    parts,
    { timeout: waitMs, polling: 100 },
  );
  return {
    event: "panel",
    clickedAt: point,
    sector: await panel.getAttribute("data-sector"),
    title: await panel.locator("h2").innerText(),
    subtitle: await panel.locator(".sector-name").innerText(),
    occupants: Number(await attr(page, parts.occupants, "data-count")),
    occupantLinks: await page.locator("#panel .occupants a").count(),
    trafficBuckets: Number(await attr(page, parts.traffic, "data-buckets")),
    staffingCells: Number(await attr(page, parts.staffing, "data-cells")),
    controllers: await page.$$eval("#panel .controllers details", (ds) =>
      ds.map((d) => ({ id: d.dataset.controllerId, callsign: d.dataset.callsign }))),
    errors: await page.locator("#panel .error").allInnerTexts(),
  };
}

async function clickOccupant(page) {
  return clickFlightLink(page, page.locator("#panel .occupants a").first());
}

async function expandController(page, id) {
  const details = page.locator(`#panel .controllers details[data-controller-id="${id}"]`);
  if (!(await details.count())) throw new Error(`the sector panel lists no controller ${id}`);
  await details.locator("summary").click();
  await page.waitForFunction(
    (sel) => document.querySelector(`${sel} .radio-loaded, ${sel} .radio-figures .error, ${sel} .radio-figures p`),
    `#panel .controllers details[data-controller-id="${id}"]`,
    { timeout: waitMs, polling: 100 },
  );
  const figures = details.locator(".radio-loaded");
  const data = (await figures.count()) ? await figures.evaluate((n) => ({ ...n.dataset })) : null;
  return {
    event: "controller",
    id,
    callsign: await details.getAttribute("data-callsign"),
    open: await details.evaluate((d) => d.open),
    radio: data,
    figures: await details.locator(".radio-figures").innerText(),
    working: await details.locator(".working-now a").allInnerTexts(),
    workingIds: await details.locator(".working-now a").evaluateAll((as) => as.map((a) => a.dataset.flight)),
    errors: await page.locator("#panel .error").allInnerTexts(),
  };
}

async function clickWorking(page, flight) {
  const links = page.locator("#panel .controllers details[open] .working-now a");
  return clickFlightLink(page, flight ? links.and(page.locator(`[data-flight="${flight}"]`)) : links.first());
}

async function clickFlightLink(page, link) {
  const callsign = await link.innerText();
  await link.click();
  const panel = page.locator(`#panel[data-kind="flight"]`);
  await panel.waitFor({ state: "visible", timeout: waitMs });
  await page.waitForFunction(
    () => document.querySelector("#panel .flight-summary") || document.querySelector("#panel .error"),
    null,
    { timeout: waitMs, polling: 100 },
  );
  const talking = page.locator("#panel .talking-to");
  const coverage = page.locator("#panel .coverage");
  return {
    event: "flight",
    clicked: callsign,
    flightId: await panel.getAttribute("data-flight"),
    title: await panel.locator("h2").innerText(),
    talkingTo: (await talking.count()) ? await talking.innerText() : null,
    talkingToId: (await talking.count()) ? await talking.getAttribute("data-controller-id") : null,
    coverage: (await coverage.count()) ? await coverage.evaluate((n) => ({ ...n.dataset })) : null,
    contacts: await page.locator("#panel .contacts li").evaluateAll((lis) =>
      lis.map((li) => ({ callsign: li.dataset.callsign, id: li.dataset.controllerId, text: li.innerText }))),
    errors: await page.locator("#panel .error").allInnerTexts(),
  };
}

async function attr(page, selector, name) {
  const loc = page.locator(selector);
  return (await loc.count()) ? loc.getAttribute(name) : null;
}
