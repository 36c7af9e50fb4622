// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OfflineBanner } from '../components/OfflineBanner';
import { AlertStore } from '../lib/alerts';
import { RuntimeContext, type Runtime } from '../lib/context';
import { LiveConnection, type WebSocketLike } from '../lib/live';
import { FleetStore } from '../lib/store';
import { GpuPage } from '../pages/GpuPage';

class FakeSocket implements WebSocketLike {
  static last: FakeSocket;
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.last = this;
  }
  send(d: string) {
    this.sent.push(d);
  }
  close() {
    this.readyState = 3;
  }
}

function runtime(): Runtime {
  const store = new FleetStore((fn) => void setTimeout(fn, 0), 0);
  const live = new LiveConnection({ url: 'ws://x/ws', WebSocketImpl: FakeSocket, rand: () => 0 });
  return { store, live, alerts: new AlertStore(), reloadFleet: () => {} };
}

const NOW = Date.now();
const GPU = { key: 'node-1/0', hostname: 'node-1', uuid: 'GPU-1', model: 'vGPU', index: 0, device: 'nvidia0', last_seen_ns: NOW * 1e6, metrics: { temperature: 61, utilization: 40 }, labels: {} };

describe('GPU page', () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  beforeEach(() => {
    fetchMock = vi.fn(async (url: string) => {
      const metric = new URL(url, 'http://x').searchParams.get('metric');
      return new Response(JSON.stringify({ gpu: GPU.key, metric, step_ns: 2e9, points: [{ t_ns: (NOW - 10_000) * 1e6, avg: 50 }] }), { status: 200 });
    });
    vi.stubGlobal('fetch', fetchMock);
    window.history.replaceState(null, '', '/gpu/node-1%2F0');
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('charts reported metrics, says "not reported" for the others, and loads history once per window', async () => {
    const rt = runtime();
    rt.store.load([GPU], null);
    render(
      <RuntimeContext.Provider value={rt}>
        <GpuPage gpuKey="node-1/0" />
      </RuntimeContext.Provider>,
    );
    await act(async () => {
      await new Promise((r) => setTimeout(r, 20));
    });
    expect(screen.getByTestId('gpu-title').textContent).toBe('node-1 · GPU 0');
    const power = document.querySelector('[data-metric="power_draw"]')!;
    expect(power.getAttribute('data-reported')).toBe('false');
    expect(power.textContent).toContain('Not reported by this GPU');
    expect(document.querySelector('[data-metric="temperature"]')!.getAttribute('data-reported')).toBe('true');

    const urls = () => fetchMock.mock.calls.map((c) => String(c[0]));
    expect(urls().sort()).toEqual([
      '/api/v1/gpus/node-1%2F0/aggregate?metric=temperature&since=-5m&until=now&step=2s',
      '/api/v1/gpus/node-1%2F0/aggregate?metric=utilization&since=-5m&until=now&step=2s',
    ]);

    // live points land in the chart buffers without any further request
    rt.live.start();
    FakeSocket.last.readyState = 1;
    FakeSocket.last.onopen?.({});
    await act(async () => {
      FakeSocket.last.onmessage?.({ data: JSON.stringify({ type: 'record', gpu_key: 'node-1/0', timestamp_ns: (NOW + 1000) * 1e6, metrics: { temperature: 62 } }) });
      await new Promise((r) => setTimeout(r, 40));
    });
    expect(Number(document.querySelector('[data-metric="temperature"]')!.getAttribute('data-points'))).toBe(2);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(JSON.parse(FakeSocket.last.sent[0])).toEqual({ subscribe: { gpus: ['node-1/0'], metrics: [] } });

    // the CSV link is the telemetry route in CSV for the window
    const csv = screen.getByTestId('csv-download') as HTMLAnchorElement;
    expect(csv.getAttribute('href')).toMatch(/^\/api\/v1\/gpus\/node-1%2F0\/telemetry\?format=csv&since=\d+&until=\d+/);

    // a window change asks once more per metric
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: '1 h' }));
      await new Promise((r) => setTimeout(r, 20));
    });
    expect(urls().filter((u) => u.includes('since=-1h')).length).toBe(2);
    expect(fetchMock).toHaveBeenCalledTimes(4);
    rt.live.stop();
  });
});

describe('offline banner', () => {
  afterEach(cleanup);
  it('appears when the feed drops and goes once it is back', async () => {
    const rt = runtime();
    render(
      <RuntimeContext.Provider value={rt}>
        <OfflineBanner />
      </RuntimeContext.Provider>,
    );
    expect(screen.queryByTestId('offline-banner')).toBeNull();
    act(() => {
      rt.live.start();
      FakeSocket.last.readyState = 1;
      FakeSocket.last.onopen?.({});
    });
    expect(screen.queryByTestId('offline-banner')).toBeNull();
    act(() => FakeSocket.last.onclose?.({}));
    expect(screen.getByTestId('offline-banner').textContent).toContain('Live updates interrupted');
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: /retry now/i }));
    });
    act(() => {
      FakeSocket.last.readyState = 1;
      FakeSocket.last.onopen?.({});
    });
    expect(screen.queryByTestId('offline-banner')).toBeNull();
    rt.live.stop();
  });
});
