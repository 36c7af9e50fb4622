// Chart data for one or more GPUs: history from /aggregate once per (window, GPU, metric), then
// live points from the WebSocket. Redraws are throttled to one per animation frame.
import { useEffect, useRef, useState } from 'react';
import { fetchAggregate, type TimeWindow } from './api';
import { useRuntime } from './context';
import { recordTimeMs } from './merge';
import { Series } from './series';

export type LoadStatus = 'loading' | 'ready' | 'error';

export interface SeriesState {
  get: (gpu: string, metric: string) => Series | undefined;
  status: (gpu: string, metric: string) => LoadStatus | undefined;
  error: (gpu: string, metric: string) => string | undefined;
  version: number;
}

const id = (gpu: string, metric: string) => `${gpu}\u0000${metric}`;

/**
 * `wanted` lists the (gpu, metric) pairs to chart; `ready` says whether the list is final enough
 * to start loading (the GPU list has loaded). A pair is requested at most once per window.
 */
export function useSeries(win: TimeWindow, wanted: [string, string][], ready: boolean): SeriesState {
  const { live } = useRuntime();
  const buffers = useRef(new Map<string, Series>());
  const status = useRef(new Map<string, LoadStatus>());
  const errors = useRef(new Map<string, string>());
  const controllers = useRef<AbortController[]>([]);
  const [version, setVersion] = useState(0);
  const frame = useRef<number | null>(null);
  const bump = () => {
    if (frame.current !== null) return;
    const raf = typeof requestAnimationFrame === 'function' ? requestAnimationFrame : (fn: FrameRequestCallback) => setTimeout(() => fn(0), 16) as unknown as number;
    frame.current = raf(() => {
      frame.current = null;
      setVersion((v) => v + 1);
    });
  };

  // new window: drop every buffer and pending request
  useEffect(() => {
    buffers.current = new Map();
    status.current = new Map();
    errors.current = new Map();
    for (const c of controllers.current) c.abort();
    controllers.current = [];
    bump();
    return () => {
      for (const c of controllers.current) c.abort();
      controllers.current = [];
    };
  }, [win.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // history, once per pair and window
  const wantedKey = wanted.map(([g, m]) => id(g, m)).join('\u0001');
  useEffect(() => {
    if (!ready) return;
    for (const [gpu, metric] of wanted) {
      const k = id(gpu, metric);
      if (status.current.has(k)) continue;
      if (!buffers.current.has(k)) buffers.current.set(k, new Series(win.ms, win.stepMs));
      status.current.set(k, 'loading');
      const ac = new AbortController();
      controllers.current.push(ac);
      fetchAggregate(gpu, metric, win, ac.signal)
        .then((agg) => {
          buffers.current.get(k)?.loadAggregate(agg.points ?? []);
          status.current.set(k, 'ready');
          bump();
        })
        .catch((e: unknown) => {
          if (ac.signal.aborted) return;
          status.current.set(k, 'error');
          errors.current.set(k, e instanceof Error ? e.message : String(e));
          bump();
        });
    }
    bump();
  }, [ready, wantedKey, win.id]); // eslint-disable-line react-hooks/exhaustive-deps

  // live points
  useEffect(() => {
    return live.onRecord((rec) => {
      const t = recordTimeMs(rec.timestamp_ns, rec.timestamp);
      if (!Number.isFinite(t) || !rec.metrics) return;
      let changed = false;
      for (const [metric, v] of Object.entries(rec.metrics)) {
        const k = id(rec.gpu_key, metric);
        let s = buffers.current.get(k);
        if (!s) {
          // a metric that was not known when the page loaded (live only until the next window change)
          if (!wantedKey.includes(rec.gpu_key)) continue;
          s = new Series(win.ms, win.stepMs);
          buffers.current.set(k, s);
          status.current.set(k, 'ready');
        }
        if (typeof v === 'number' && s.append(t, v, Date.now())) changed = true;
      }
      if (changed) bump();
    });
  }, [live, win.id, wantedKey]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(
    () => () => {
      if (frame.current !== null) (typeof cancelAnimationFrame === 'function' ? cancelAnimationFrame : clearTimeout)(frame.current);
    },
    [],
  );

  return {
    get: (gpu, metric) => buffers.current.get(id(gpu, metric)),
    status: (gpu, metric) => status.current.get(id(gpu, metric)),
    error: (gpu, metric) => errors.current.get(id(gpu, metric)),
    version,
  };
}
