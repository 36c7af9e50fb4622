#!/usr/bin/env node
// Dashboard end-to-end test: the REAL pipeline (gt-mq, gt-collector, gt-gateway serving web/dist,
// gt-streamer looping over a fixture CSV) on ephemeral loopback ports, driven by Debian's
// chromium through playwright-core. Fails (never skips) when something it needs is missing.
// The gateway runs with one alert rule (temperature > 85 °C, for 0s); at the end a second
// streamer feeds a hot GPU of its own, then a cool one, and the dashboard must show the alert
// (header count, badges, heat map dot, alerts page) and clear it, live.
//
//   node test/e2e/run-e2e.mjs --bin-dir build/dev/bin [--artifacts DIR] [--web-root web/dist]
//   (GT_BIN_DIR, GT_E2E_ARTIFACTS, GT_WEB_ROOT, GT_CHROMIUM work too)
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Service } from './pipeline.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const arg = (name, env, def) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0 && process.argv[i + 1]) return process.argv[i + 1];
  return process.env[env] || def;
};
const binDir = resolve(arg('bin-dir', 'GT_BIN_DIR', join(repo, 'build', 'dev', 'bin')));
const artifacts = resolve(arg('artifacts', 'GT_E2E_ARTIFACTS', join(repo, 'build', 'e2e-artifacts')));
const webRoot = resolve(arg('web-root', 'GT_WEB_ROOT', join(repo, 'web', 'dist')));
const chromiumPath = arg('chromium', 'GT_CHROMIUM', '/usr/bin/chromium');
const fixture = join(here, 'fixtures', 'fleet_dcgm.csv');
const keepTmp = process.env.GT_E2E_KEEP === '1';

const results = [];
let failed = 0;
const log = (...a) => console.log('[e2e]', ...a);
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`PASS ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    results.push({ name, ok: false, error: e });
    log(`FAIL ${name}: ${e?.stack ?? e}`);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, fn, timeoutMs = 20000, everyMs = 200) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

// ---- prerequisites: missing ones FAIL the test ----
const missing = [];
for (const b of ['gt-mq', 'gt-collector', 'gt-gateway', 'gt-streamer']) if (!existsSync(join(binDir, b))) missing.push(join(binDir, b));
if (!existsSync(chromiumPath)) missing.push(`${chromiumPath} (apt-get install chromium fonts-liberation)`);
if (!existsSync(join(webRoot, 'index.html'))) missing.push(`${webRoot}/index.html (run tools/web-build)`);
let chromium;
try {
  chromium = createRequire(join(repo, 'web', 'package.json'))('playwright-core').chromium;
} catch {
  missing.push('playwright-core in web/node_modules (run tools/web-build)');
}
if (missing.length) {
  console.error(`[e2e] FAIL: missing prerequisites:\n  ${missing.join('\n  ')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

mkdirSync(artifacts, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'gt-e2e-'));
const logDir = join(artifacts, 'logs');
mkdirSync(logDir, { recursive: true });
log(`bin ${binDir}, web ${webRoot}, artifacts ${artifacts}, tmp ${tmp}`);

// the fixture's GPUs (uuid = key) and hosts
const fixtureGpus = new Map(); // key -> host
{
  const { readFileSync } = await import('node:fs');
  for (const line of readFileSync(fixture, 'utf8').split('\n').slice(1)) {
    const f = line.split('","');
    if (f.length > 6) fixtureGpus.set(f[4], f[6]);
  }
}

const services = [];
let browser;
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  const codes = {};
  for (const s of [...services].reverse()) codes[s.name] = await s.stop();
  if (!keepTmp) rmSync(tmp, { recursive: true, force: true });
  return codes;
}
process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

try {
  // ---- the pipeline ----
  const mq = new Service('mq', join(binDir, 'gt-mq'), ['--port', '0', '--bind', '127.0.0.1', '--rpc-url', 'tcp://127.0.0.1:0', '--pub-url', 'tcp://127.0.0.1:0'], logDir);
  services.push(mq);
  await mq.start();
  const colArgs = ['--mq-url', mq.ready.rpc_url, '--data-dir', join(tmp, 'collector'), '--api-port', '0', '--bind', '127.0.0.1', '--consumer', 'e2e'];
  const collector = new Service('collector', join(binDir, 'gt-collector'), [...colArgs, '--rpc-url', 'tcp://127.0.0.1:0', '--pub-url', 'tcp://127.0.0.1:0'], logDir);
  services.push(collector);
  await collector.start();
  // a restarted collector must come back on the same URLs (the gateway is configured with them)
  collector.args = [...colArgs, '--rpc-url', collector.ready.rpc_url, '--pub-url', collector.ready.pub_url];
  // one alert rule: hotter than any fixture GPU ever gets (max 75 °C), fires at once
  const rulesFile = join(tmp, 'alert-rules.json');
  writeFileSync(rulesFile, JSON.stringify({ rules: [{ name: 'e2e_hot', metric: 'temperature', op: '>', threshold: 85, for: '0s', severity: 'critical' }] }));
  const gwArgs = (port) => [
    '--port', String(port), '--bind', '127.0.0.1', '--rpc-url', '',
    '--collector-url', collector.ready.rpc_url, '--collector-live-url', collector.ready.pub_url,
    '--mq-url', mq.ready.rpc_url, '--web-root', webRoot, '--health-interval', '500ms',
    '--alert-rules', rulesFile,
  ];
  const gateway = new Service('gateway', join(binDir, 'gt-gateway'), gwArgs(0), logDir);
  services.push(gateway);
  await gateway.start();
  const gwPort = gateway.ready.http_port ?? gateway.ready.port;
  gateway.args = gwArgs(gwPort);
  const streamer = new Service('streamer', join(binDir, 'gt-streamer'), ['--csv', fixture, '--mq-url', mq.ready.rpc_url, '--loop', '--rate', '24', '--workers', '1', '--http-port', '0', '--bind', '127.0.0.1', '--rpc-url', ''], logDir);
  services.push(streamer);
  await streamer.start();
  const base = `http://127.0.0.1:${gwPort}`;
  log(`gateway at ${base}`);

  await waitFor('every fixture GPU in /api/v1/gpus', async () => {
    const keys = new Set();
    let cursor = null;
    do {
      const r = await (await fetch(`${base}/api/v1/gpus${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`)).json();
      for (const g of r.gpus) keys.add(g.key);
      cursor = r.next_cursor;
    } while (cursor);
    return [...fixtureGpus.keys()].every((k) => keys.has(k));
  });

  // ---- the browser ----
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmp, 'chromium-')), {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
    colorScheme: 'light',
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const requests = []; // every request the page made: { url, type, at }
  page.on('request', (r) => requests.push({ url: r.url(), type: r.resourceType(), at: Date.now() }));
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  const documents = () => requests.filter((r) => r.type === 'document').length;
  const telemetryRequests = () => requests.filter((r) => /\/api\/v1\/gpus\/[^?]+\/(telemetry|aggregate)/.test(new URL(r.url).pathname));
  const shot = async (name, full = false) => {
    await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: full, animations: 'disabled', timeout: 60000 });
    log(`screenshot ${join(artifacts, `${name}.png`)}`);
  };

  await page.goto(`${base}/`);

  await check('fleet shows every fixture GPU, grouped by host', async () => {
    await waitFor('a table row per fixture GPU', async () => (await page.locator('tr[data-gpu]').count()) === fixtureGpus.size);
    for (const [key, host] of fixtureGpus) {
      const row = page.locator(`tbody[data-host="${host}"] tr[data-gpu="${key}"]`);
      if ((await row.count()) !== 1) throw new Error(`no row for ${key} under ${host}`);
    }
    const total = await page.locator('[data-testid="total-gpus"] [data-value]').innerText();
    if (total.trim() !== String(fixtureGpus.size)) throw new Error(`GPU total says ${total}`);
    const cells = await page.locator('[data-testid="heatmap"] [role="gridcell"]').count();
    if (cells !== fixtureGpus.size) throw new Error(`heat map has ${cells} cells`);
    await waitFor('live indicator', async () => (await page.getAttribute('[data-testid="live-indicator"]', 'data-state')) === 'live');
    // vGPU-like GPUs without power say so instead of showing 0
    const vgpu = page.locator('tr[data-gpu="GPU-e2e00000-0000-4000-8000-000000000007"]');
    if (!(await vgpu.innerText()).includes('not reported')) throw new Error('a GPU without power does not say "not reported"');
  });
  await shot('fleet-desktop');

  await check('search filters the fleet', async () => {
    await page.fill('[data-testid="fleet-search"]', 'e2e-node-c');
    await waitFor('4 rows', async () => (await page.locator('tr[data-gpu]').count()) === 4);
    await page.fill('[data-testid="fleet-search"]', '');
    await waitFor('all rows', async () => (await page.locator('tr[data-gpu]').count()) === fixtureGpus.size);
  });

  await check('keyboard: heat map arrows + Enter open a GPU, Back returns', async () => {
    await page.locator('[data-testid="heatmap"] [role="gridcell"][tabindex="0"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    const second = `/gpu/${encodeURIComponent('GPU-e2e00000-0000-4000-8000-000000000002')}`;
    await waitFor('GPU 1 of e2e-node-a', async () => new URL(page.url()).pathname === second);
    await page.waitForSelector('[data-testid="gpu-title"]');
    await page.goBack();
    await waitFor('fleet again', async () => (await page.locator('tr[data-gpu]').count()) === fixtureGpus.size);
  });

  const gpuKey = 'GPU-e2e00000-0000-4000-8000-000000000001';
  let pointsBefore = 0;
  await check('GPU detail: charts gain points live, without reload or repeated telemetry requests', async () => {
    const docsBefore = documents();
    // keyboard: focus the row and press Enter
    await page.locator(`tr[data-gpu="${gpuKey}"]`).focus();
    await page.keyboard.press('Enter');
    await waitFor('the GPU page', async () => new URL(page.url()).pathname === `/gpu/${encodeURIComponent(gpuKey)}`);
    await page.waitForSelector('[data-testid="gpu-title"]');
    const chart = page.locator('[data-metric="temperature"]');
    await waitFor('history loaded', async () => Number(await chart.getAttribute('data-points')) > 0);
    pointsBefore = Number(await chart.getAttribute('data-points'));
    await waitFor('more points', async () => Number(await chart.getAttribute('data-points')) > pointsBefore + 2, 20000);
    if (documents() !== docsBefore) throw new Error('the page was reloaded');
    const svgPath = await chart.locator('svg path.recharts-line-curve').count();
    if (svgPath < 1) throw new Error('no line drawn');
    const notReported = await page.locator('[data-metric="fan_speed"] [data-testid="not-reported"]').count();
    if (notReported !== 1) throw new Error('fan speed (not in the fixture) should say not reported');
    // each history URL was asked once; nothing polls
    const seen = new Map();
    for (const r of telemetryRequests()) seen.set(r.url, (seen.get(r.url) ?? 0) + 1);
    const repeated = [...seen].filter(([, n]) => n > 1);
    if (repeated.length) throw new Error(`repeated: ${repeated.map(([u, n]) => `${u} x${n}`).join(', ')}`);
    const total = telemetryRequests().length;
    const mine = (r) => r.url.includes(`/api/v1/gpus/${encodeURIComponent(gpuKey)}/`);
    const n1 = telemetryRequests().filter(mine).length;
    if (n1 === 0) throw new Error('no history request at all');
    await sleep(4000);
    if (telemetryRequests().length !== total) throw new Error('telemetry/aggregate requested again without a window change (polling?)');
    // a window change asks each metric once more
    await page.click('[data-window="15m"]');
    await waitFor('15 min history', async () => telemetryRequests().some((r) => r.url.includes('since=-15m')));
    await sleep(2500);
    const w15 = telemetryRequests().filter((r) => mine(r) && r.url.includes('since=-15m'));
    const u15 = new Set(w15.map((r) => r.url));
    if (w15.length !== u15.size) throw new Error('a 15 min history URL was requested twice');
    if (w15.length !== n1) throw new Error(`5 min asked ${n1} URLs, 15 min asked ${w15.length}`);
    await page.click('[data-window="5m"]');
    if (documents() !== docsBefore) throw new Error('the page was reloaded');
  });
  await sleep(1500);
  await shot('gpu-desktop');

  await check('CSV download link is the telemetry CSV of the window', async () => {
    const href = await page.getAttribute('[data-testid="csv-download"]', 'href');
    const r = await fetch(new URL(href, base));
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${href} -> ${r.status} ${text.slice(0, 200)}`);
    if (!text.startsWith('timestamp,gpu_key,hostname,')) throw new Error(`not CSV: ${text.slice(0, 100)}`);
    if (text.trim().split('\n').length < 3) throw new Error('CSV has no rows');
  });

  await check('host drill-down: chart legend names host and GPU', async () => {
    await page.click('nav[aria-label="Breadcrumb"] >> text=e2e-node-a');
    await page.waitForSelector('[data-testid="host-title"]');
    await waitFor('legend', async () => (await page.locator('.recharts-legend-item-text', { hasText: 'e2e-node-a · GPU 0' }).count()) === 1);
  });
  await shot('host-desktop');

  await check('allocated but idle view lists the idle labelled GPUs', async () => {
    await page.click('nav[aria-label="Main"] >> text=Idle');
    await waitFor('namespace ml', async () => (await page.locator('[data-namespace="ml"] tr[data-gpu]').count()) === 2, 15000);
    const text = await page.locator('[data-testid="idle-summary"]').innerText();
    if (!/2\s+of 3 allocated/.test(text)) throw new Error(`summary: ${text}`);
  });

  const collectorRow = page.locator('tr[data-kind="collector"]');
  await check('pipeline: stopping the collector turns it red, restarting turns it green', async () => {
    await page.click('nav[aria-label="Main"] >> text=Pipeline');
    await waitFor('collector ok', async () => (await collectorRow.getAttribute('data-status')) === 'ok');
    await shot('pipeline-desktop');
    const code = await collector.stop();
    if (code !== 0) throw new Error(`collector exited ${code} on SIGTERM`);
    await waitFor('collector down', async () => (await collectorRow.getAttribute('data-status')) === 'down', 20000);
    const dot = await collectorRow.locator('td:nth-child(2) span span').first().evaluate((e) => getComputedStyle(e).backgroundColor);
    if (!/^rgb\((2[0-9]{2}), ([0-9]{1,2}), ([0-9]{1,2})\)$/.test(dot) && !dot.startsWith('oklch')) throw new Error(`down is not red: ${dot}`);
    await shot('pipeline-collector-down');
    await collector.start();
    await waitFor('collector ok again', async () => (await collectorRow.getAttribute('data-status')) === 'ok', 30000);
  });

  await check('offline banner when the gateway stops, gone when it is back; live data resumes', async () => {
    await page.goto(`${base}/`); // deep links are checked below; start from the fleet
    await page.locator(`tr[data-gpu="${gpuKey}"]`).click();
    const chart = page.locator('[data-metric="temperature"]');
    await waitFor('history', async () => Number(await chart.getAttribute('data-points')) > 0);
    if ((await page.locator('[data-testid="offline-banner"]').count()) !== 0) throw new Error('banner while live');
    const code = await gateway.stop();
    if (code !== 0) throw new Error(`gateway exited ${code} on SIGTERM`);
    await page.waitForSelector('[data-testid="offline-banner"]', { timeout: 15000 });
    const state = await page.getAttribute('[data-testid="live-indicator"]', 'data-state');
    if (state === 'live') throw new Error('indicator still says live');
    await shot('offline-banner');
    await sleep(2000);
    await gateway.start();
    await page.waitForSelector('[data-testid="offline-banner"]', { state: 'detached', timeout: 40000 });
    await waitFor('live again', async () => (await page.getAttribute('[data-testid="live-indicator"]', 'data-state')) === 'live');
    // the subscription was restored: the chart keeps growing
    const p = Number(await chart.getAttribute('data-points'));
    await waitFor('points after reconnect', async () => Number(await chart.getAttribute('data-points')) > p + 1, 20000);
  });

  await check('deep link /gpu/<encoded key> loads the GPU page', async () => {
    await page.goto(`${base}/gpu/${encodeURIComponent(gpuKey)}?w=15m`);
    await page.waitForSelector('[data-testid="gpu-title"]', { timeout: 15000 });
  });

  // ---- phone width and dark theme ----
  await check('phone layout screenshots', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/`);
    await waitFor('rows', async () => (await page.locator('tr[data-gpu]').count()) === fixtureGpus.size);
    await shot('fleet-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 2) throw new Error(`the page scrolls sideways by ${overflow}px at 390px`);
    await page.locator(`tr[data-gpu="${gpuKey}"]`).click();
    await waitFor('history', async () => Number(await page.locator('[data-metric="temperature"]').getAttribute('data-points')) > 0);
    await sleep(1000);
    await shot('gpu-phone');
    // phones show the navigation as icons (the labels are for screen readers)
    await page.click('nav[aria-label="Main"] a[href="/pipeline"]');
    await waitFor('collector row', async () => (await collectorRow.count()) === 1);
    await shot('pipeline-phone');
    const headerOverflow = await page.evaluate(() => {
      const h = document.querySelector('header > div');
      return h.scrollWidth - h.clientWidth;
    });
    if (headerOverflow > 1) throw new Error(`the header overflows by ${headerOverflow}px at 390px`);
  });

  await check('dark theme toggle is persisted', async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${base}/`);
    // system (light) -> light -> dark
    await page.click('[data-testid="theme-toggle"]');
    await page.click('[data-testid="theme-toggle"]');
    if (!(await page.evaluate(() => document.documentElement.classList.contains('dark')))) throw new Error('not dark');
    await page.reload();
    await page.waitForSelector('tr[data-gpu]');
    if (!(await page.evaluate(() => document.documentElement.classList.contains('dark')))) throw new Error('dark not persisted');
    await waitFor('rows', async () => (await page.locator('tr[data-gpu]').count()) === fixtureGpus.size);
    await shot('fleet-desktop-dark');
  });

  // ---- alerts: a GPU that runs hot fires the rule, cooling down resolves it ----
  // A GPU of its own (not in the fixture, whose looping records would interleave cool values),
  // fed by a second streamer; runs last because it adds a row to the fleet.
  const hotKey = 'GPU-e2e00000-0000-4000-8000-0000000000ff';
  const hotHost = 'e2e-node-hot';
  const gpuCsv = (name, temps) => {
    const file = join(tmp, name);
    const rows = ['"timestamp","metric_name","gpu_id","device","uuid","modelName","Hostname","container","pod","namespace","value","labels_raw"'];
    temps.forEach((t, s) => {
      const ts = `2026-11-26T22:00:0${s}Z`;
      for (const [m, v] of [['DCGM_FI_DEV_GPU_TEMP', t], ['DCGM_FI_DEV_GPU_UTIL', 90]]) rows.push([ts, m, 0, 'nvidia0', hotKey, 'NVIDIA H100 80GB HBM3', hotHost, '', '', '', v, ''].map((x) => `"${x}"`).join(','));
    });
    writeFileSync(file, rows.join('\n') + '\n');
    return file;
  };
  const feeder = (name, csv) =>
    new Service(name, join(binDir, 'gt-streamer'), ['--csv', csv, '--mq-url', mq.ready.rpc_url, '--loop', '--timestamps', 'now', '--rate', '4', '--workers', '1', '--http-port', '0', '--bind', '127.0.0.1', '--rpc-url', ''], logDir);
  const alertCount = async () => Number(await page.getAttribute('[data-testid="alert-count"]', 'data-count'));
  const alertRequests = () => requests.filter((r) => new URL(r.url).pathname.startsWith('/api/v1/alerts')).length;
  await check('alerts: a hot GPU fires the rule live (header, fleet row, host, alerts page), cooling down clears it', async () => {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(`${base}/`);
    await waitFor('rows', async () => (await page.locator('tr[data-gpu]').count()) === fixtureGpus.size);
    await waitFor('the alert count loaded (0)', async () => (await alertCount()) === 0);
    const asked = alertRequests();
    const docs = documents();
    const hot = feeder('streamer-hot', gpuCsv('hot.csv', [95, 96, 97]));
    services.push(hot);
    await hot.start();
    // pushed over the WebSocket: no reload, no polling
    await waitFor('the header badge says 1', async () => (await alertCount()) === 1, 20000);
    const badge = page.locator('[data-testid="alert-count"]');
    if ((await badge.getAttribute('data-severity')) !== 'critical') throw new Error('header badge severity is not critical');
    const bg = await badge.evaluate((e) => getComputedStyle(e).backgroundColor);
    if (!/^rgb\((2[0-9]{2}), ([0-9]{1,2}), ([0-9]{1,2})\)$/.test(bg) && !bg.startsWith('oklch')) throw new Error(`badge is not red: ${bg}`);
    const row = page.locator(`tr[data-gpu="${hotKey}"]`);
    await waitFor('the hot GPU row', async () => (await row.count()) === 1, 20000);
    await waitFor('its badge', async () => (await row.locator('[data-testid="gpu-alert"]').getAttribute('data-severity').catch(() => null)) === 'critical');
    if ((await page.locator('[data-testid="gpu-alert"]').count()) !== 1) throw new Error('badges on GPUs without alerts');
    if (alertRequests() !== asked || documents() !== docs) throw new Error('alerts were fetched again or the page reloaded while the alert fired (polling?)');
    const hostBadge = page.locator(`[data-host-row="${hotHost}"] [data-testid="host-alert"]`);
    if ((await hostBadge.count()) !== 1) throw new Error('no badge on the hot host');
    // the heat map: a critical dot on the hot GPU's cell only
    const dot = page.locator('[data-testid="heatmap"] [role="gridcell"][data-alert="critical"] [data-testid="heat-alert"]');
    await waitFor('the heat map alert dot', async () => (await dot.count()) === 1);
    if ((await page.locator('[data-testid="heat-alert"]').count()) !== 1) throw new Error('heat map dots on GPUs without alerts');
    if (!(await page.locator('[data-testid="heat-alert"]').locator('xpath=..').getAttribute('aria-label')).includes('e2e_hot')) throw new Error('the dotted cell does not name the rule');
    await page.locator('[data-testid="heatmap"]').scrollIntoViewIfNeeded();
    await shot('alert-heatmap-desktop');
    await row.scrollIntoViewIfNeeded();
    await shot('alert-fleet-desktop');
    // the alerts page: the rule, the GPU, the value
    await badge.click();
    await waitFor('the alerts page', async () => new URL(page.url()).pathname === '/alerts');
    const cur = page.locator('[data-testid="current-alerts"] tbody tr[data-alert-rule="e2e_hot"]');
    await waitFor('the alert row', async () => (await cur.count()) === 1);
    const text = await cur.innerText();
    if (!text.includes(hotHost) || !/9[5-7] °C > 85 °C/.test(text)) throw new Error(`alert row: ${text}`);
    if ((await page.locator('[data-testid="alert-history"] tbody tr[data-state="firing"][data-alert-rule="e2e_hot"]').count()) < 1) throw new Error('the firing change is not in the history');
    await shot('alerts-desktop');
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(300);
    await shot('alerts-phone');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    if (overflow > 2) throw new Error(`the alerts page scrolls sideways by ${overflow}px at 390px`);
    await page.setViewportSize({ width: 1440, height: 900 });
    // the GPU page says so too
    await page.goto(`${base}/gpu/${encodeURIComponent(hotKey)}`);
    await page.waitForSelector('[data-testid="gpu-alerts"] [data-alert-rule="e2e_hot"]', { timeout: 15000 });
    await page.goto(`${base}/alerts`);
    await waitFor('the alert row again', async () => (await cur.count()) === 1);
    const asked2 = alertRequests();
    const docs2 = documents();
    // cool down: the same GPU reports 45 °C from now on
    await hot.stop();
    const cool = feeder('streamer-cool', gpuCsv('cool.csv', [45, 46, 45]));
    services.push(cool);
    await cool.start();
    await waitFor('the header badge back to 0', async () => (await alertCount()) === 0, 20000);
    await waitFor('no current alert', async () => (await page.locator('[data-testid="no-alerts"]').count()) === 1);
    await waitFor('the resolved change', async () => (await page.locator('[data-testid="alert-history"] tbody tr[data-state="resolved"][data-alert-rule="e2e_hot"]').count()) >= 1);
    await shot('alerts-resolved-desktop');
    if (alertRequests() !== asked2 || documents() !== docs2) throw new Error('alerts were fetched again or the page reloaded while the alert changed (polling?)');
    await page.click('nav[aria-label="Main"] a[href="/"]');
    await waitFor('the hot GPU row', async () => (await row.count()) === 1);
    if ((await page.locator('[data-testid="gpu-alert"], [data-testid="host-alert"], [data-testid="heat-alert"]').count()) !== 0) throw new Error('badges left after the alert resolved');
  });

  await check('no errors in the browser console', async () => {
    // the gateway going away on purpose produces failed requests; anything else is a bug
    const unexpected = consoleErrors.filter((e) => !/Failed to load resource|WebSocket connection|ERR_CONNECTION_REFUSED|net::/.test(e));
    if (unexpected.length) throw new Error(unexpected.join('\n'));
  });
} catch (e) {
  failed++;
  results.push({ name: 'setup', ok: false, error: e });
  log(`FAIL setup: ${e?.stack ?? e}`);
} finally {
  const codes = await cleanup();
  const bad = Object.entries(codes).filter(([, c]) => c !== 0);
  if (bad.length) {
    failed++;
    results.push({ name: 'services exit 0 on SIGTERM', ok: false });
    log(`FAIL services exit codes: ${JSON.stringify(codes)}`);
  }
}

const passed = results.filter((r) => r.ok).length;
log(`artifacts in ${artifacts}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
