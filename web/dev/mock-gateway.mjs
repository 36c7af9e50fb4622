#!/usr/bin/env node
// A stand-in for gt-gateway for front-end work only (`npm run mock`, then `npm run dev`): it
// speaks the gateway's HTTP/WebSocket contract with synthetic data for a large fleet. The real
// gateway is what the end-to-end test (test/e2e) runs against; nothing here is used by tests.
//   node dev/mock-gateway.mjs [--port 8081] [--hosts 31] [--gpus 8] [--web-root dist]
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const port = Number(arg('port', '8081'));
const nHosts = Number(arg('hosts', '31'));
const perHost = Number(arg('gpus', '8'));
const webRoot = arg('web-root', '');
const maxGpus = Number(arg('max', '247'));

// deterministic pseudo-random
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);

const gpus = [];
for (let h = 0; h < nHosts; h++) {
  const hostname = `gpu-node-${String(h + 1).padStart(3, '0')}`;
  for (let i = 0; i < perHost && gpus.length < maxGpus; i++) {
    const uuid = `GPU-${createHash('md5').update(`${h}-${i}`).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/, '$1-$2-$3-$4-$5')}`;
    const vgpu = h === 3 && i >= 4; // a vGPU host: no power, no clocks
    const labels = {};
    if (h % 4 === 1) Object.assign(labels, { namespace: 'ml-training', pod: `trainer-${h}-${i}`, container: 'main' });
    if (h % 4 === 2 && i < 4) Object.assign(labels, { namespace: 'inference', pod: `serve-${h}-${i}`, container: 'triton' });
    gpus.push({
      key: uuid, hostname, uuid, index: i, device: `nvidia${i}`,
      model: h % 5 === 4 ? 'NVIDIA A100-SXM4-80GB' : 'NVIDIA H100 80GB HBM3',
      labels, vgpu,
      stale: h === 7 && i < 2,
      base: { util: h % 4 === 2 && i < 3 ? 2 + rnd() * 3 : 20 + rnd() * 75, temp: 35 + rnd() * 45 },
      phase: rnd() * 6.28,
      records: 0,
      metrics: {},
      lastNs: 0,
    });
  }
}

function sample(g, tMs) {
  const s = Math.sin(tMs / 20000 + g.phase);
  const util = Math.max(0, Math.min(100, g.base.util + s * 8 + (rnd() - 0.5) * 4));
  const temp = g.base.temp + util * 0.12 + s * 2;
  const used = Math.round(81559 * Math.min(0.995, util / 100 + 0.05 + (g.index === 3 ? 0.5 : 0)));
  const m = {
    temperature: Math.round(temp),
    utilization: Math.round(util),
    memory_used: used,
    memory_free: 81559 - used,
    memory_utilization: Math.round(util * 0.6),
    encoder_utilization: 0,
    decoder_utilization: 0,
  };
  if (!g.vgpu) Object.assign(m, { power_draw: Math.round((90 + util * 6) * 100) / 100, sm_clock: util > 5 ? 1980 : 345, mem_clock: 2619 });
  return m;
}

const now0 = Date.now();
for (const g of gpus) {
  g.metrics = sample(g, now0);
  g.lastNs = (g.stale ? now0 - 3600_000 : now0) * 1e6;
}

const clients = new Set();
let framesSent = 0;

function gpuJson(g) {
  return {
    key: g.key, hostname: g.hostname, uuid: g.uuid, model: g.model, index: g.index, device: g.device,
    last_seen: new Date(g.lastNs / 1e6).toISOString(), last_seen_ns: g.lastNs,
    stale: Date.now() - g.lastNs / 1e6 > 60_000, metrics: g.metrics, labels: g.labels, records: g.records,
  };
}

function send(res, code, body, type = 'application/json') {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(data);
}

const parseDur = (s) => {
  const m = /^-?(\d+)(ms|s|m|h)$/.exec(s ?? '');
  if (!m) return null;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2]];
};

const server = createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  if (p === '/health') {
    const collectorDown = Math.floor(Date.now() / 30000) % 6 === 5;
    return send(res, 200, {
      status: collectorDown ? 'degraded' : 'ok', version: '0.1.0-mock', uptime_seconds: (Date.now() - now0) / 1000,
      components: [
        { name: 'gateway', kind: 'gateway', url: `http://127.0.0.1:${port}`, status: 'ok', latency_ms: 0, version: '0.1.0', uptime_seconds: (Date.now() - now0) / 1000, checked_at: new Date().toISOString() },
        { name: 'mq', kind: 'mq', url: 'tcp://127.0.0.1:9091', status: 'ok', latency_ms: 0.7, version: '0.1.0', uptime_seconds: 8123, checked_at: new Date().toISOString() },
        { name: 'collector-0', kind: 'collector', url: 'tcp://127.0.0.1:9093', status: 'ok', latency_ms: 1.2, version: '0.1.0', uptime_seconds: 8100, checked_at: new Date().toISOString() },
        { name: 'collector-1', kind: 'collector', url: 'tcp://127.0.0.1:9193', status: collectorDown ? 'down' : 'ok', latency_ms: collectorDown ? null : 1.4, version: '0.1.0', uptime_seconds: 300, checked_at: new Date().toISOString(), ...(collectorDown ? { error: 'connection refused' } : {}) },
      ],
      last_record_age_seconds: 0.4, stale_gpus: gpus.filter((g) => g.stale).length, gpus: gpus.length,
    });
  }
  if (p === '/stats') {
    const total = gpus.reduce((a, g) => a + g.records, 0);
    return send(res, 200, {
      gateway: { uptime_seconds: (Date.now() - now0) / 1000, requests_total: 1234, latency_ms: { p50: 0.4, p99: 3.1 }, cache: { hits: 930, misses: 70, hit_rate: 0.93 }, ws: { clients: clients.size, frames_sent: framesSent, frames_dropped: 3, records_in: total } },
      mq: { total_processed: total, topics: { 'gpu-telemetry': { messages: total, throughput_msg_per_sec: gpus.length, dlq: 2, groups: { collectors: { lag: 17, pending: 40 } } } } },
      collectors: [
        { name: 'collector-0', url: 'tcp://127.0.0.1:9093', stats: { total_processed: Math.floor(total / 2), cache_hit_rate: 0.97 } },
        { name: 'collector-1', url: 'tcp://127.0.0.1:9193', stats: { total_processed: Math.ceil(total / 2), cache_hit_rate: 0.91 } },
      ],
    });
  }
  if (p === '/api/v1/alerts') {
    const list = [...alertsActive.values()].sort((a, b) => (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) || a.since_ns - b.since_ns);
    return send(res, 200, alertList(list));
  }
  if (p === '/api/v1/alerts/history') {
    const after = Number(u.searchParams.get('after_seq') ?? -1);
    const limit = Math.min(1000, Number(u.searchParams.get('limit') ?? 100));
    return send(res, 200, { alerts: alertHistory.filter((a) => a.seq > after).slice(-limit), last_seq: alertSeq });
  }
  if (p === '/api/v1/gpus') return send(res, 200, { gpus: gpus.map(gpuJson), next_cursor: null, partial: false });
  if (p === '/api/v1/hosts') {
    const hosts = new Map();
    for (const g of gpus) {
      const h = hosts.get(g.hostname) ?? { hostname: g.hostname, gpus: 0, keys: [], stale_gpus: 0 };
      h.gpus++; h.keys.push(g.key); if (g.stale) h.stale_gpus++;
      hosts.set(g.hostname, h);
    }
    return send(res, 200, { hosts: [...hosts.values()], partial: false });
  }
  const m = /^\/api\/v1\/gpus\/(.+)\/(aggregate|telemetry)$/.exec(p);
  if (m) {
    const key = decodeURIComponent(m[1]);
    const g = gpus.find((x) => x.key === key);
    if (!g) return send(res, 404, { error: { code: 404, message: `gpu ${key} not found` } });
    if (m[2] === 'aggregate') {
      const metric = u.searchParams.get('metric');
      if (!metric) return send(res, 400, { error: { code: 400, message: 'metric is required' } });
      const since = parseDur(u.searchParams.get('since')) ?? 3600_000;
      const step = parseDur(u.searchParams.get('step')) ?? 60_000;
      const points = [];
      const end = g.stale ? g.lastNs / 1e6 : Date.now();
      for (let t = Math.ceil((Date.now() - since) / step) * step; t <= end; t += step) {
        const v = sample(g, t)[metric];
        if (v === undefined) continue;
        points.push({ t_ns: t * 1e6, timestamp: new Date(t).toISOString(), min: v * 0.97, avg: v, max: v * 1.03, last: v, count: step / 1000 });
      }
      return send(res, 200, { gpu: key, metric, step_ns: step * 1e6, points });
    }
    if (u.searchParams.get('format') === 'csv') {
      const cols = Object.keys(g.metrics);
      const lines = [`timestamp,gpu_key,hostname,${cols.join(',')}`];
      const since = Number(u.searchParams.get('since')) / 1e6, until = Number(u.searchParams.get('until')) / 1e6;
      for (let t = Math.ceil(since / 1000) * 1000; t <= until && lines.length < 5000; t += 1000) {
        const s = sample(g, t);
        lines.push(`${new Date(t).toISOString()},${g.key},${g.hostname},${cols.map((c) => s[c] ?? '').join(',')}`);
      }
      return send(res, 200, lines.join('\n') + '\n', 'text/csv');
    }
    return send(res, 200, { gpu: key, records: [], truncated: false, partial: false });
  }
  if (webRoot) {
    const root = resolve(webRoot);
    let file = normalize(join(root, decodeURIComponent(p)));
    if (!file.startsWith(root)) return send(res, 403, { error: { code: 403, message: 'forbidden' } });
    if (!existsSync(file) || statSync(file).isDirectory()) {
      if (extname(p)) return send(res, 404, { error: { code: 404, message: 'not found' } });
      file = join(root, 'index.html');
    }
    const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
    // the strict policy a gateway may send (no inline scripts or styles sheets)
    const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ws: wss:; font-src 'self'; base-uri 'none'; frame-ancestors 'none'";
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Content-Security-Policy': csp });
    return createReadStream(file).pipe(res);
  }
  send(res, 404, { error: { code: 404, message: `no route ${p}` } });
});

// --- minimal WebSocket (RFC 6455) server: text frames only ---
function frame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : (() => {
    const b = Buffer.alloc(10); b[0] = 0x81; b[1] = 127; b.writeBigUInt64BE(BigInt(n), 2); return b;
  })();
  return Buffer.concat([head, payload]);
}

server.on('upgrade', (req, socket) => {
  if (!req.url.startsWith('/ws')) return socket.destroy();
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const c = { socket, sub: null };
  clients.add(c);
  socket.write(frame(JSON.stringify({ type: 'hello', version: '0.1.0-mock', heartbeat_ms: 5000 })));
  socket.write(frame(JSON.stringify({ type: 'alerts', ...alertList([...alertsActive.values()]) })));
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2) {
      const op = buf[0] & 15;
      let len = buf[1] & 127, off = 2;
      if (len === 126) (len = buf.readUInt16BE(2)), (off = 4);
      else if (len === 127) (len = Number(buf.readBigUInt64BE(2))), (off = 10);
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const data = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < data.length; i++) data[i] ^= mask[i & 3];
      buf = buf.subarray(off + 4 + len);
      if (op === 8) return socket.end();
      if (op !== 1) continue;
      try {
        const msg = JSON.parse(data.toString());
        if (msg.subscribe) c.sub = msg.subscribe;
        else if ('ping' in msg) socket.write(frame(JSON.stringify({ type: 'pong', ping: msg.ping })));
      } catch {
        socket.write(frame(JSON.stringify({ type: 'error', message: 'bad json' })));
      }
    }
  });
  socket.on('close', () => clients.delete(c));
  socket.on('error', () => clients.delete(c));
});

// --- alerts (the gateway's contract): hot > 85 °C critical at once, warm > 80 °C
// warning after 10 s, gpu_stale for silent GPUs, and an XID event now and then ---
const alertsActive = new Map(); // rule\0gpu -> alert
const alertHistory = [];
let alertSeq = 0;
const RULES = [
  { name: 'hot', metric: 'temperature', op: '>', threshold: 85, forMs: 0, severity: 'critical' },
  { name: 'warm', metric: 'temperature', op: '>', threshold: 80, forMs: 10_000, severity: 'warning' },
];
function alertList(list) {
  return { alerts: list, firing: list.filter((a) => a.state === 'firing').length, pending: list.filter((a) => a.state === 'pending').length, last_seq: alertSeq };
}
function alertChange(a) {
  a.seq = ++alertSeq;
  const t = Date.now();
  a.since = new Date(t).toISOString();
  a.since_ns = t * 1e6;
  alertHistory.push({ ...a });
  if (alertHistory.length > 1000) alertHistory.shift();
  for (const c of clients) c.socket.write(frame(JSON.stringify({ type: 'alert', ...a })));
}
function evalAlerts(g, t) {
  const rules = [...RULES.map((r) => ({ ...r, kind: 'threshold', on: g.metrics[r.metric] > r.threshold })), { name: 'gpu_stale', kind: 'stale', severity: 'warning', forMs: 0, on: t - g.lastNs / 1e6 > 30_000 }];
  for (const r of rules) {
    const id = `${r.name}\0${g.key}`;
    const cur = alertsActive.get(id);
    const base = { rule: r.name, kind: r.kind, severity: r.severity, gpu: g.key, uuid: g.uuid, hostname: g.hostname };
    if (r.kind === 'threshold') Object.assign(base, { metric: r.metric, op: r.op, threshold: r.threshold, value: g.metrics[r.metric] });
    const msg = r.kind === 'stale' ? `no record for ${Math.round((t - g.lastNs / 1e6) / 1000)}s` : `${r.metric} ${g.metrics[r.metric]} ${r.op} ${r.threshold} for ${r.forMs / 1000}s`;
    if (r.on && !cur) {
      const a = { ...base, state: r.forMs ? 'pending' : 'firing', active_since_ns: t * 1e6, message: msg, t0: t };
      alertsActive.set(id, a);
      alertChange(a);
    } else if (r.on && cur && cur.state === 'pending' && t - cur.t0 >= r.forMs) {
      Object.assign(cur, base, { state: 'firing', message: msg });
      alertChange(cur);
    } else if (!r.on && cur) {
      alertsActive.delete(id);
      if (cur.state === 'firing') alertChange({ ...cur, ...base, state: 'resolved', message: `${msg.split(' for ')[0]}: resolved` });
    }
  }
}
setInterval(() => {
  const g = gpus[Math.floor(rnd() * gpus.length)];
  alertChange({ rule: 'xid', kind: 'event', state: 'event', severity: 'critical', gpu: g.key, uuid: g.uuid, hostname: g.hostname, metric: 'xid_errors', value: 79, message: 'XID 79: GPU has fallen off the bus' });
}, 45_000);
setInterval(() => {
  const t = Date.now();
  for (const g of gpus) evalAlerts(g, t);
}, 1000);

// every GPU reports once a second, spread over the second like a real fleet
let slice = 0;
setInterval(() => {
  const t = Date.now();
  slice = (slice + 1) % 20;
  for (const g of gpus.filter((_, i) => i % 20 === slice)) {
    if (g.stale) continue;
    g.metrics = sample(g, t);
    g.lastNs = t * 1e6;
    g.records++;
    for (const c of clients) {
      if (!c.sub) continue;
      if (!(c.sub.gpus.includes('*') || c.sub.gpus.includes(g.key))) continue;
      const metrics = c.sub.metrics.length ? Object.fromEntries(Object.entries(g.metrics).filter(([k]) => c.sub.metrics.includes(k))) : g.metrics;
      if (!Object.keys(metrics).length) continue;
      c.socket.write(frame(JSON.stringify({ type: 'record', gpu_key: g.key, hostname: g.hostname, uuid: g.uuid, model: g.model, gpu_index: g.index, device: g.device, timestamp: new Date(t).toISOString(), timestamp_ns: t * 1e6, metrics, labels: g.labels })));
      framesSent++;
    }
  }
}, 50);
setInterval(() => {
  for (const c of clients) c.socket.write(frame(JSON.stringify({ type: 'heartbeat', timestamp_ns: Date.now() * 1e6 })));
}, 5000);

server.listen(port, '127.0.0.1', () => console.log(JSON.stringify({ message: 'service.ready', service: 'mock-gateway', http_port: server.address().port })));
