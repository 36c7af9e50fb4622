// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AlertCount } from '../components/AlertBadges';
import { GpuTable } from '../components/GpuTable';
import { HeatMap } from '../components/HeatMap';
import { RuntimeContext } from '../lib/context';
import type { WebSocketLike } from '../lib/live';
import { createRuntime, type AppRuntime } from '../lib/runtime';
import type { ApiAlert } from '../lib/types';
import { AlertsPage } from '../pages/AlertsPage';
import { GpuPage } from '../pages/GpuPage';
import { HostPage } from '../pages/HostPage';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  static get last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.all.push(this);
  }
  send(d: string) {
    this.sent.push(d);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({ code: 1006 });
  }
  deliver(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

const NOW = Date.now();
const GPUS = [
  { key: 'node-1/0', hostname: 'node-1', uuid: 'GPU-10', index: 0, last_seen_ns: NOW * 1e6, metrics: { temperature: 91, utilization: 40 } },
  { key: 'node-1/1', hostname: 'node-1', uuid: 'GPU-11', index: 1, last_seen_ns: NOW * 1e6, metrics: { temperature: 50, utilization: 40 } },
  { key: 'node-2/0', hostname: 'node-2', uuid: 'GPU-20', index: 0, last_seen_ns: NOW * 1e6, metrics: { temperature: 50, utilization: 40 } },
];
const alert = (over: Partial<ApiAlert>): ApiAlert => ({
  rule: 'hot',
  kind: 'threshold',
  state: 'firing',
  severity: 'critical',
  gpu: 'node-1/0',
  uuid: 'GPU-10',
  hostname: 'node-1',
  metric: 'temperature',
  op: '>',
  threshold: 85,
  value: 91,
  since_ns: (NOW - 65_000) * 1e6,
  message: 'temperature 91 > 85 for 0s',
  ...over,
});

/** fetch stand-in: the GPU list, hosts, and the two alert routes (counted). */
function gateway(alerts: ApiAlert[] = [], history: ApiAlert[] = []) {
  const calls: string[] = [];
  const fn = vi.fn(async (url: string) => {
    calls.push(url);
    const path = new URL(url, 'http://x').pathname;
    const body =
      path === '/api/v1/gpus'
        ? { gpus: GPUS }
        : path === '/api/v1/hosts'
          ? { hosts: [] }
          : path === '/api/v1/alerts'
            ? { alerts, firing: alerts.filter((a) => a.state === 'firing').length, pending: 0, last_seq: 10 }
            : path === '/api/v1/alerts/history'
              ? { alerts: history, last_seq: 10 }
              : { gpu: 'x', metric: 'm', step_ns: 2e9, points: [] };
    return new Response(JSON.stringify(body), { status: 200 });
  });
  return { fn, calls, alertCalls: () => calls.filter((u) => u.startsWith('/api/v1/alerts')) };
}

const settle = () => act(async () => void (await new Promise((r) => setTimeout(r, 30))));

function mount(rt: AppRuntime, ui: React.ReactNode) {
  return render(<RuntimeContext.Provider value={rt}>{ui}</RuntimeContext.Provider>);
}

describe('alerts in the dashboard', () => {
  let gw: ReturnType<typeof gateway>;
  let rt: AppRuntime;
  beforeEach(() => {
    FakeSocket.all = [];
    window.history.replaceState(null, '', '/');
    window.scrollTo = () => {}; // navigate() scrolls; jsdom does not implement it
  });
  afterEach(() => {
    rt?.live.stop();
    cleanup();
    vi.unstubAllGlobals();
  });
  const start = async (alerts: ApiAlert[] = [], history: ApiAlert[] = []) => {
    gw = gateway(alerts, history);
    vi.stubGlobal('fetch', gw.fn);
    rt = createRuntime({ url: 'ws://gw/ws', WebSocketImpl: FakeSocket });
    rt.reloadFleet();
    rt.reloadAlerts();
    rt.live.start();
    await settle();
  };

  it('header badge: unknown, then the firing count from the socket, red and linking to /alerts; grey 0 once resolved', async () => {
    await start();
    mount(rt, <AlertCount />);
    const badge = () => screen.getByTestId('alert-count');
    expect(badge().getAttribute('href')).toBe('/alerts');
    // the REST answer (no alerts) arrived: 0, grey
    expect(badge().getAttribute('data-count')).toBe('0');
    expect(badge().className).toContain('bg-slate-100');
    act(() => FakeSocket.last.open());
    act(() => FakeSocket.last.deliver({ type: 'alerts', alerts: [alert({ seq: 11 })], firing: 1, pending: 0, last_seq: 11 }));
    expect(badge().getAttribute('data-count')).toBe('1');
    expect(badge().textContent).toBe('1');
    expect(badge().className).toContain('bg-red-600');
    expect(badge().getAttribute('aria-label')).toBe('1 alert firing');
    act(() => FakeSocket.last.deliver({ type: 'alert', ...alert({ seq: 12, gpu: 'node-2/0', uuid: 'GPU-20', hostname: 'node-2', severity: 'warning', rule: 'warm' }) }));
    expect(badge().textContent).toBe('2');
    act(() => FakeSocket.last.deliver({ type: 'alert', ...alert({ seq: 13, state: 'resolved' }) }));
    act(() => FakeSocket.last.deliver({ type: 'alert', ...alert({ seq: 14, state: 'resolved', gpu: 'node-2/0', uuid: 'GPU-20', hostname: 'node-2', severity: 'warning', rule: 'warm' }) }));
    expect(badge().getAttribute('data-count')).toBe('0');
    expect(badge().className).not.toContain('bg-red-600');
    // no polling: the alert routes were asked once each
    expect(gw.alertCalls().length).toBe(2);
    fireEvent.click(badge());
    expect(window.location.pathname).toBe('/alerts');
  });

  it('fleet table: badges on the GPUs and hosts with alerts, coloured by severity', async () => {
    await start([alert({ seq: 3 }), alert({ seq: 4, rule: 'warm', state: 'pending', severity: 'warning', gpu: 'node-2/0', uuid: 'GPU-20', hostname: 'node-2' })]);
    const Table = () => <GpuTable gpus={rt.store.getSnapshot().gpus} now={NOW} />;
    mount(rt, <Table />);
    const row = (k: string) => document.querySelector(`tr[data-gpu="${k}"]`)!;
    expect(row('node-1/0').getAttribute('data-alert')).toBe('critical');
    const b = within(row('node-1/0') as HTMLElement).getByTestId('gpu-alert');
    expect(b.getAttribute('data-severity')).toBe('critical');
    expect(b.className).toContain('bg-red-600');
    expect(b.textContent).toContain('hot');
    expect(row('node-1/1').getAttribute('data-alert')).toBeNull();
    expect(within(row('node-1/1') as HTMLElement).queryByTestId('gpu-alert')).toBeNull();
    expect(within(row('node-2/0') as HTMLElement).getByTestId('gpu-alert').getAttribute('data-severity')).toBe('pending');
    const host1 = document.querySelector('[data-host-row="node-1"]')!;
    expect(within(host1 as HTMLElement).getByTestId('host-alert').getAttribute('data-severity')).toBe('critical');
    // a warning that fires on node-2: amber
    act(() => FakeSocket.last.open());
    act(() => FakeSocket.last.deliver({ type: 'alert', ...alert({ seq: 20, rule: 'warm', severity: 'warning', gpu: 'node-2/0', uuid: 'GPU-20', hostname: 'node-2' }) }));
    const hb = within(document.querySelector('[data-host-row="node-2"]') as HTMLElement).getByTestId('host-alert');
    expect(hb.getAttribute('data-severity')).toBe('warning');
    expect(hb.className).toContain('bg-amber-400');
  });

  it('heat map: a dot on the cells of GPUs with firing alerts, coloured by severity; none for pending', async () => {
    await start([alert({ seq: 3 }), alert({ seq: 4, rule: 'warm', state: 'pending', severity: 'warning', gpu: 'node-2/0', uuid: 'GPU-20', hostname: 'node-2' })]);
    const Map = () => <HeatMap gpus={rt.store.getSnapshot().gpus} metric="temperature" onMetric={() => {}} now={NOW} />;
    mount(rt, <Map />);
    const dots = () => [...document.querySelectorAll('[data-testid="heat-alert"]')].map((d) => d.getAttribute('data-severity'));
    expect(dots()).toEqual(['critical']);
    const hot = document.querySelector('[role="gridcell"][data-alert="critical"]') as HTMLElement;
    expect(hot.getAttribute('data-cell')).toBe('0-0'); // node-1, GPU 0
    expect(hot.getAttribute('aria-label')).toContain('1 alert firing (critical): hot');
    expect((hot.querySelector('[data-testid="heat-alert"]') as HTMLElement).style.backgroundColor).toBe('rgb(220, 38, 38)');
    expect(document.querySelectorAll('[role="gridcell"][data-alert]').length).toBe(1);
    expect(screen.getByTestId('heat-alert-legend')).toBeTruthy();
    // the pending warning on node-2 fires: a second, amber dot
    act(() => FakeSocket.last.open());
    act(() => FakeSocket.last.deliver({ type: 'alert', ...alert({ seq: 20, rule: 'warm', severity: 'warning', gpu: 'node-2/0', uuid: 'GPU-20', hostname: 'node-2' }) }));
    expect(dots().sort()).toEqual(['critical', 'warning']);
    expect(document.querySelector('[role="gridcell"][data-alert="warning"]')!.getAttribute('data-cell')).toBe('1-0'); // node-2, GPU 0
    const warm = document.querySelector('[role="gridcell"][data-alert="warning"] [data-testid="heat-alert"]') as HTMLElement;
    expect(warm.style.backgroundColor).toBe('rgb(251, 191, 36)');
    // everything resolves: no dots, no legend entry
    act(() => FakeSocket.last.deliver({ type: 'alerts', alerts: [], last_seq: 30 }));
    expect(dots()).toEqual([]);
    expect(screen.queryByTestId('heat-alert-legend')).toBeNull();
  });

  it('host page: the host badge next to its name and on its GPU rows', async () => {
    await start([alert({ seq: 3 })]);
    window.history.replaceState(null, '', '/host/node-1');
    mount(rt, <HostPage host="node-1" />);
    await settle();
    expect(screen.getByTestId('host-title').parentElement!.querySelector('[data-testid="host-alert"]')).not.toBeNull();
    expect(document.querySelectorAll('[data-testid="gpu-alert"]').length).toBe(1);
  });

  it('GPU page: a badge by the title and a line per current alert; gone when it resolves', async () => {
    await start([alert({ seq: 3 }), alert({ seq: 4, rule: 'warm', state: 'pending', severity: 'warning' })]);
    window.history.replaceState(null, '', '/gpu/node-1%2F0');
    mount(rt, <GpuPage gpuKey="node-1/0" />);
    await settle();
    expect(screen.getByTestId('gpu-title').parentElement!.querySelector('[data-testid="gpu-alert"]')!.getAttribute('data-severity')).toBe('critical');
    const lines = () => [...screen.getByTestId('gpu-alerts').querySelectorAll('li')].map((l) => `${l.getAttribute('data-alert-rule')}:${l.getAttribute('data-state')}`);
    expect(lines()).toEqual(['hot:firing', 'warm:pending']);
    expect(screen.getByTestId('gpu-alerts').textContent).toContain('temperature 91 > 85 for 0s');
    act(() => FakeSocket.last.open());
    act(() => FakeSocket.last.deliver({ type: 'alerts', alerts: [], last_seq: 20 }));
    expect(screen.queryByTestId('gpu-alerts')).toBeNull();
    expect(document.querySelector('[data-testid="gpu-alert"]')).toBeNull();
  });

  it('alerts page: current alerts and history, updated live; after a reconnect the snapshot and one REST load each', async () => {
    const past = [
      alert({ seq: 1, state: 'pending', since_ns: (NOW - 120_000) * 1e6 }),
      alert({ seq: 2, state: 'firing', since_ns: (NOW - 65_000) * 1e6 }),
      alert({ seq: 3, rule: 'xid', kind: 'event', state: 'event', severity: 'critical', gpu: 'node-1/1', uuid: 'GPU-11', since_ns: (NOW - 30_000) * 1e6, message: 'XID 79: GPU has fallen off the bus', metric: undefined, value: 79 }),
    ];
    await start([alert({ seq: 2 })], past);
    window.history.replaceState(null, '', '/alerts');
    mount(rt, <AlertsPage />);
    await settle();
    const cur = screen.getByTestId('current-alerts');
    const rows = () => cur.querySelectorAll('tbody tr');
    expect(rows().length).toBe(1);
    expect(rows()[0].getAttribute('data-alert-rule')).toBe('hot');
    expect(rows()[0].textContent).toContain('node-1 · GPU 0'); // the GPU's label from the fleet
    expect(rows()[0].textContent).toContain('91 °C > 85 °C');
    expect(rows()[0].textContent).toContain('1 min ago');
    expect(within(rows()[0] as HTMLElement).getByRole('link', { name: 'node-1 · GPU 0' }).getAttribute('href')).toBe('/gpu/node-1%2F0');
    const hist = () => [...screen.getByTestId('alert-history').querySelectorAll('tbody tr')].map((r) => `${r.getAttribute('data-seq')}:${r.getAttribute('data-state')}`);
    expect(hist()).toEqual(['3:event', '2:firing', '1:pending']);
    fireEvent.click(screen.getByRole('button', { name: 'Events' }));
    expect(hist()).toEqual(['3:event']);
    fireEvent.click(screen.getByRole('button', { name: 'All' }));

    // live: it resolves
    act(() => FakeSocket.last.open());
    act(() => FakeSocket.last.deliver({ type: 'alerts', alerts: [alert({ seq: 2 })], last_seq: 10 }));
    act(() => FakeSocket.last.deliver({ type: 'alert', ...alert({ seq: 11, state: 'resolved', since_ns: NOW * 1e6 }) }));
    expect(screen.getByTestId('no-alerts').textContent).toBe('No alert is firing or pending.');
    expect(hist()[0]).toBe('11:resolved');
    expect(screen.getByTestId('alerts-firing').textContent).toContain('0');

    // the socket drops; meanwhile it fired again: the reconnect's snapshot says so, and REST is asked once more
    act(() => FakeSocket.last.drop());
    await act(async () => void (await new Promise((r) => setTimeout(r, 600))));
    act(() => FakeSocket.last.open());
    act(() => FakeSocket.last.deliver({ type: 'alerts', alerts: [alert({ seq: 12 })], last_seq: 12 }));
    await settle();
    expect(rows().length).toBe(1);
    expect(gw.alertCalls().length).toBe(4); // (alerts + history) at start and after the reconnect
  });
});
