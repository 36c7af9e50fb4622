// Checks the objects `helm template` rendered (multi-document YAML file) without a cluster:
//  - every object against its Kubernetes schema (kubernetes-models: types, required fields, enums);
//  - every container: /health probes on a declared port, requests + limits, the hardened context;
//  - selectors match the labels they are meant to select (workloads, Services, PDBs, policies, monitors);
//  - the gateway's collector URLs name each collector replica through the headless Service and its
//    rpc/pub ports, and every --mq-url names the gt-mq Service's rpc port;
//  - API versions fit the Kubernetes version (--kube);
//  - with --bin-dir, each container's command + args + rendered --config are run through the real
//    binary's --print-config: the binaries accept every flag and option the chart renders (and
//    gt-gateway's --print-config validates the rendered --alert-rules file).
// Usage: node check.mjs RENDERED.yaml [--kube 1.20] [--bin-dir DIR] [--expect Kind=N]...
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';

const argv = process.argv.slice(2);
const file = argv.shift();
let kube = '1.35', binDir = '', expects = [];
while (argv.length) {
  const a = argv.shift();
  if (a === '--kube') kube = argv.shift();
  else if (a === '--bin-dir') binDir = argv.shift();
  else if (a === '--expect') expects.push(argv.shift());
  else throw new Error(`unknown argument ${a}`);
}
const errors = [];
const fail = (what, msg) => errors.push(`${what}: ${msg}`);

const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'))
  .map((d) => d.toJS()).filter((o) => o && typeof o === 'object');
const id = (o) => `${o.kind}/${o.metadata?.name}`;
const byKind = (k) => docs.filter((o) => o.kind === k);
const find = (k, n) => docs.find((o) => o.kind === k && o.metadata?.name === n);

// ---- 1. schemas
for (const o of docs) {
  if (!o.apiVersion || !o.kind || !o.metadata?.name) { fail(JSON.stringify(o).slice(0, 80), 'no apiVersion/kind/name'); continue; }
  const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
  if (group === 'monitoring.coreos.com') continue; // checked below
  let mod;
  try { mod = await import(`kubernetes-models/${group ? group + '/' : ''}${version}`); }
  catch { fail(id(o), `no schema for ${o.apiVersion}`); continue; }
  const Cls = mod[o.kind];
  if (!Cls) { fail(id(o), `${o.apiVersion} has no kind ${o.kind}`); continue; }
  try { new Cls(o).validate(); } catch (e) { fail(id(o), `schema: ${e.message.split('\n').slice(0, 4).join(' | ')}`); }
}

// ---- 2. API versions for the Kubernetes version
const [maj, min] = kube.split('.').map(Number);
const want = {
  HorizontalPodAutoscaler: maj === 1 && min < 23 ? 'autoscaling/v2beta2' : 'autoscaling/v2',
  PodDisruptionBudget: maj === 1 && min < 21 ? 'policy/v1beta1' : 'policy/v1',
  Ingress: 'networking.k8s.io/v1', NetworkPolicy: 'networking.k8s.io/v1',
  StatefulSet: 'apps/v1', Deployment: 'apps/v1', DaemonSet: 'apps/v1',
};
for (const o of docs) if (want[o.kind] && o.apiVersion !== want[o.kind]) fail(id(o), `apiVersion ${o.apiVersion}, want ${want[o.kind]} on ${kube}`);

// ---- 3. workloads: probes, resources, hardening, selectors
const subset = (sel, labels) => sel && Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels?.[k] === v);
const workloads = docs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
const isTrue = (v) => v === true;
for (const w of workloads) {
  const t = w.spec.template, ps = t.spec;
  if (!subset(w.spec.selector?.matchLabels, t.metadata?.labels)) fail(id(w), 'selector does not match the pod labels');
  const others = workloads.filter((x) => x !== w && subset(w.spec.selector.matchLabels, x.spec.template.metadata.labels));
  if (others.length) fail(id(w), `selector also selects ${others.map(id)}`);
  if (!isTrue(ps.securityContext?.runAsNonRoot)) fail(id(w), 'pod securityContext.runAsNonRoot');
  if (ps.automountServiceAccountToken !== false) fail(id(w), 'service account token mounted');
  if (ps.hostNetwork || ps.hostPID || ps.hostIPC) fail(id(w), 'host namespaces');
  if (ps.serviceAccountName && !find('ServiceAccount', ps.serviceAccountName)) fail(id(w), `ServiceAccount ${ps.serviceAccountName} not rendered`);
  for (const c of [...(ps.initContainers || []), ...ps.containers]) {
    const cid = `${id(w)} container ${c.name}`, sc = c.securityContext || {};
    for (const p of ['readinessProbe', 'livenessProbe']) {
      const pr = c[p];
      if (!pr?.httpGet || pr.httpGet.path !== '/health') { fail(cid, `${p} is not GET /health`); continue; }
      const port = pr.httpGet.port;
      if (!(c.ports || []).some((x) => x.name === port || x.containerPort === port)) fail(cid, `${p} port ${port} not declared`);
      if (!(pr.timeoutSeconds >= 2)) fail(cid, `${p} timeoutSeconds ${pr.timeoutSeconds} (< 2 s fails under load)`);
      if (p === 'livenessProbe' && !((pr.failureThreshold || 3) * (pr.periodSeconds || 10) >= 60))
        fail(cid, 'liveness gives up in under 60 s');
    }
    for (const k of ['requests', 'limits']) for (const r of ['cpu', 'memory'])
      if (c.resources?.[k]?.[r] === undefined) fail(cid, `resources.${k}.${r} missing`);
    if (!isTrue(sc.runAsNonRoot ?? ps.securityContext?.runAsNonRoot)) fail(cid, 'runAsNonRoot');
    if (sc.readOnlyRootFilesystem !== true) fail(cid, 'readOnlyRootFilesystem');
    if (sc.allowPrivilegeEscalation !== false) fail(cid, 'allowPrivilegeEscalation');
    if (sc.privileged) fail(cid, 'privileged');
    if (!(sc.capabilities?.drop || []).includes('ALL') || (sc.capabilities?.add || []).length) fail(cid, 'capabilities: drop ALL, add none');
    if ((sc.seccompProfile ?? ps.securityContext?.seccompProfile)?.type !== 'RuntimeDefault') fail(cid, 'seccompProfile RuntimeDefault');
    for (const m of c.volumeMounts || []) if (!(ps.volumes || []).some((v) => v.name === m.name) &&
        !(w.spec.volumeClaimTemplates || []).some((v) => v.metadata.name === m.name)) fail(cid, `mount ${m.name} has no volume`);
    for (const e of c.env || []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !find('Secret', ref.name) && !process.env.CHECK_EXTERNAL_SECRET) fail(cid, `Secret ${ref.name} not rendered`);
      if (ref && find('Secret', ref.name) && !(ref.key in (find('Secret', ref.name).data || {}))) fail(cid, `Secret ${ref.name} has no key ${ref.key}`);
    }
  }
  for (const v of ps.volumes || []) if (v.configMap && !find('ConfigMap', v.configMap.name) && !process.env.CHECK_EXTERNAL_CM)
    fail(id(w), `ConfigMap ${v.configMap.name} not rendered`);
  if (w.kind === 'StatefulSet') {
    const hs = find('Service', w.spec.serviceName);
    if (!hs || hs.spec.clusterIP !== 'None') fail(id(w), `serviceName ${w.spec.serviceName} is not a rendered headless Service`);
    else if (!subset(hs.spec.selector, t.metadata.labels)) fail(id(w), 'its headless Service does not select its pods');
  }
}
const podsOf = (sel) => workloads.filter((w) => subset(sel, w.spec.template.metadata.labels));
for (const s of byKind('Service')) {
  const ws = podsOf(s.spec.selector);
  if (ws.length !== 1) { fail(id(s), `selects ${ws.length} workloads`); continue; }
  const cports = ws[0].spec.template.spec.containers.flatMap((c) => c.ports || []);
  for (const p of s.spec.ports) if (!cports.some((c) => c.name === p.targetPort || c.containerPort === p.targetPort))
    fail(id(s), `targetPort ${p.targetPort} is no container port of ${id(ws[0])}`);
}
for (const o of [...byKind('PodDisruptionBudget'), ...byKind('NetworkPolicy')]) {
  const sel = o.kind === 'NetworkPolicy' ? o.spec.podSelector.matchLabels : o.spec.selector.matchLabels;
  if (podsOf(sel).length !== 1) fail(id(o), `selects ${podsOf(sel).length} workloads`);
}
for (const np of byKind('NetworkPolicy')) {
  const w = podsOf(np.spec.podSelector.matchLabels)[0];
  if (!w) continue;
  const cports = w.spec.template.spec.containers.flatMap((c) => c.ports || []).map((p) => p.containerPort);
  for (const r of np.spec.ingress || []) for (const p of r.ports || [])
    if (!cports.includes(p.port)) fail(id(np), `port ${p.port} is not a port of ${id(w)}`);
  const hp = w.spec.template.spec.containers[0].ports.find((p) => p.name === 'http').containerPort;
  if (!(np.spec.ingress || []).some((r) => (r.ports || []).some((p) => p.port === hp))) fail(id(np), 'http port unreachable');
}
for (const h of byKind('HorizontalPodAutoscaler')) {
  const t = find(h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name);
  if (!t) fail(id(h), 'scaleTargetRef names nothing rendered');
  else if (t.spec.replicas !== undefined) fail(id(h), `${id(t)} sets replicas while autoscaled (upgrades would fight the HPA)`);
  if (!(h.spec.minReplicas <= h.spec.maxReplicas)) fail(id(h), 'minReplicas > maxReplicas');
}
for (const i of byKind('Ingress')) for (const r of i.spec.rules) for (const p of r.http.paths) {
  const s = find('Service', p.backend.service.name);
  if (!s) fail(id(i), `backend ${p.backend.service.name} not rendered`);
  else if (!s.spec.ports.some((x) => x.name === p.backend.service.port.name || x.port === p.backend.service.port.number))
    fail(id(i), 'backend port not on the Service');
}
for (const m of byKind('ServiceMonitor')) {
  if (m.apiVersion !== 'monitoring.coreos.com/v1') fail(id(m), m.apiVersion);
  const exprOk = (l) => (m.spec.selector.matchExpressions || []).every((x) =>
    x.operator === 'DoesNotExist' ? !(x.key in l) : x.operator === 'Exists' ? x.key in l :
    x.operator === 'In' ? x.values.includes(l[x.key]) : x.operator === 'NotIn' ? !x.values.includes(l[x.key]) : false);
  const svcs = byKind('Service').filter((s) => subset(m.spec.selector.matchLabels, s.metadata.labels) && exprOk(s.metadata.labels));
  if (svcs.length !== 1) fail(id(m), `selects ${svcs.length} Services`);
  for (const e of m.spec.endpoints) {
    if (!e.interval || !e.scrapeTimeout) fail(id(m), 'interval and scrapeTimeout must be set');
    if (e.path !== '/metrics') fail(id(m), 'path');
    if (svcs[0] && !svcs[0].spec.ports.some((p) => p.name === e.port)) fail(id(m), `port ${e.port} not on the Service`);
    const sec = (x) => parseFloat(x) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[x.replace(/^[0-9.]+/, '')] ?? 1);
    if (e.interval && e.scrapeTimeout && sec(e.scrapeTimeout) > sec(e.interval)) fail(id(m), 'scrapeTimeout > interval');
  }
}
for (const cm of byKind('ConfigMap')) for (const [k, v] of Object.entries(cm.data || {}))
  if (k.endsWith('.json')) { try { JSON.parse(v); } catch (e) { fail(id(cm), `${k}: ${e.message}`); } }

// ---- 4. the URLs the services are given
const argsOf = (w) => w.spec.template.spec.containers[0].args || [];
const flag = (w, name) => argsOf(w).filter((a) => a.startsWith(`--${name}=`)).map((a) => a.slice(name.length + 3));
const comp = (c) => workloads.find((w) => w.spec.template.metadata.labels['app.kubernetes.io/component'] === c);
const mq = comp('mq'), col = comp('collector'), gw = comp('gateway');
const portOf = (svc, name) => svc?.spec.ports.find((p) => p.name === name)?.port;
const cportOf = (w, name) => w.spec.template.spec.containers[0].ports.find((p) => p.name === name)?.containerPort;
const parseUrl = (u) => { const m = /^tcp:\/\/([^:/]+):(\d+)$/.exec(u); return m ? { host: m[1], port: Number(m[2]) } : null; };
if (mq) {
  const svc = byKind('Service').find((s) => s.spec.clusterIP !== 'None' && subset(s.spec.selector, mq.spec.template.metadata.labels));
  for (const w of workloads.filter((x) => x !== mq)) for (const u of flag(w, 'mq-url')) {
    const p = parseUrl(u);
    if (!p || !svc || !p.host.startsWith(`${svc.metadata.name}.`) || p.port !== portOf(svc, 'rpc') || p.port !== cportOf(mq, 'rpc'))
      fail(id(w), `--mq-url ${u} is not the gt-mq Service's rpc port`);
  }
}
if (gw && col) {
  const hs = find('Service', col.spec.serviceName), n = col.spec.replicas;
  const ns = hs && `.${hs.metadata.name}.`;
  for (const [f, pn] of [['collector-url', 'rpc'], ['collector-live-url', 'pub']]) {
    const urls = flag(gw, f);
    if (urls.length !== n) fail(id(gw), `${urls.length} --${f} for ${n} collector replicas`);
    urls.forEach((u, i) => {
      const p = parseUrl(u);
      if (!p || !hs || !p.host.startsWith(`${col.metadata.name}-${i}${ns}`) || !p.host.endsWith('.svc.' + p.host.split('.svc.')[1]) ||
          p.port !== portOf(hs, pn) || p.port !== cportOf(col, pn))
        fail(id(gw), `--${f} #${i} ${u} is not ${col.metadata.name}-${i} via ${hs?.metadata.name}:${pn}`);
    });
  }
}
// the gateway's alert rules: a ConfigMap key, mounted read-only where --alert-rules looks, and a
// checksum annotation so that new rules roll the pods (nothing sends SIGHUP in a cluster)
if (gw) {
  const ps = gw.spec.template.spec, c = ps.containers[0];
  const cm = find('ConfigMap', ps.volumes.find((v) => v.name === 'config')?.configMap?.name);
  const has = typeof cm?.data?.['alert-rules.json'] === 'string', arg = flag(gw, 'alert-rules');
  if (has !== (arg.length === 1)) fail(id(gw), `alert-rules.json in the ConfigMap: ${has}, --alert-rules: ${arg}`);
  if (has) {
    const m = (c.volumeMounts || []).find((x) => x.name === 'config');
    if (arg[0] !== '/etc/gpu-telemetry/alert-rules.json' || m?.mountPath !== '/etc/gpu-telemetry' || m?.readOnly !== true)
      fail(id(gw), `--alert-rules=${arg[0]} is not the read-only config mount`);
    if (!gw.spec.template.metadata.annotations?.['checksum/alert-rules']) fail(id(gw), 'no checksum/alert-rules annotation');
  }
  if (flag(gw, 'alert-webhook').length && (c.env || []).some((e) => e.name === 'GT_ALERT_WEBHOOK'))
    fail(id(gw), 'webhook both as --alert-webhook and GT_ALERT_WEBHOOK');
}
if (col) {
  const args = argsOf(col);
  if (!args.includes('--consumer=$(POD_NAME)')) fail(id(col), 'replicas need distinct --consumer names');
  if (!(col.spec.volumeClaimTemplates || []).length) fail(id(col), 'no PVC per replica');
  if (new Set(docs.filter((o) => o === col).flatMap(() => flag(col, 'group'))).size !== 1) fail(id(col), 'one --group');
}

// ---- 5. the binaries accept what the chart renders
if (binDir) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gt-chart-'));
  for (const w of workloads) for (const c of w.spec.template.spec.containers) {
    const bin = path.join(binDir, c.command[0]);
    if (!fs.existsSync(bin)) { console.log(`(skip ${c.command[0]}: not built)`); continue; }
    // files of the config ConfigMap (--config, the gateway's --alert-rules): written out, so that
    // the binary reads (and --print-config validates) what the cluster would mount
    const args = (c.args || []).map((a) => {
      const m = /^(--[a-z-]+)=\/etc\/gpu-telemetry\/(.+)$/.exec(a);
      if (!m) return a;
      const cm = find('ConfigMap', w.spec.template.spec.volumes.find((v) => v.name === 'config').configMap.name);
      if (typeof cm?.data?.[m[2]] !== 'string') { fail(`${id(w)} container ${c.name}`, `${m[1]}: ConfigMap has no key ${m[2]}`); return a; }
      const f = path.join(tmp, `${w.metadata.name}-${m[2]}`);
      fs.writeFileSync(f, cm.data[m[2]]);
      return `${m[1]}=${f}`;
    });
    const env = { PATH: process.env.PATH };
    for (const e of c.env || []) env[e.name] = e.value ?? 'from-cluster';
    try { execFileSync(bin, [...args, '--print-config'], { env, stdio: ['ignore', 'pipe', 'pipe'] }); }
    catch (e) { fail(`${id(w)} container ${c.name}`, `${c.command[0]} rejects the rendered args/config: ${e.stderr}`); }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

// ---- 6. expected object counts
for (const e of expects) {
  const [k, n] = e.split('=');
  if (byKind(k).length !== Number(n)) fail(k, `${byKind(k).length} rendered, expected ${n}`);
}
if (errors.length) { console.error(errors.map((e) => `FAIL ${e}`).join('\n')); process.exit(1); }
console.log(`ok: ${docs.length} objects (${[...new Set(docs.map((o) => o.kind))].join(', ')}) on Kubernetes ${kube}`);
