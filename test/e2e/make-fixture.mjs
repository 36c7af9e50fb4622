#!/usr/bin/env node
// Writes fixtures/fleet_dcgm.csv, the DCGM-exporter-format fixture of the dashboard e2e test:
// 3 hosts x 4 GPUs, 6 samples. Two GPUs of e2e-node-b report no power or clocks (vGPU-like), and
// pod/namespace labels sit on some GPUs (two of them idle). Deterministic; rerun to regenerate.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fields = [
  ['DCGM_FI_DEV_GPU_TEMP', (s, g) => 40 + g * 3 + (s % 3)],
  ['DCGM_FI_DEV_GPU_UTIL', (s, g, idle) => (idle ? 2 + (s % 2) : 35 + g * 7 + s * 2)],
  ['DCGM_FI_DEV_FB_USED', (s, g) => 8000 + g * 6000 + s * 100],
  ['DCGM_FI_DEV_FB_FREE', (s, g) => 81559 - (8000 + g * 6000 + s * 100)],
  ['DCGM_FI_DEV_POWER_USAGE', (s, g) => (150 + g * 40 + s * 1.5).toFixed(2), 'power'],
  ['DCGM_FI_DEV_SM_CLOCK', () => 1980, 'clock'],
  ['DCGM_FI_DEV_MEM_CLOCK', () => 2619, 'clock'],
];
const hosts = ['e2e-node-a', 'e2e-node-b', 'e2e-node-c'];
const q = (v) => `"${String(v).replace(/"/g, '""')}"`;
const lines = ['"timestamp","metric_name","gpu_id","device","uuid","modelName","Hostname","container","pod","namespace","value","labels_raw"'];
for (let s = 0; s < 6; s++) {
  const ts = new Date(Date.UTC(2026, 10, 26, 22, 0, s)).toISOString().replace('.000Z', 'Z');
  hosts.forEach((host, h) => {
    for (let i = 0; i < 4; i++) {
      const g = h * 4 + i;
      const uuid = `GPU-e2e00000-0000-4000-8000-${String(g + 1).padStart(12, '0')}`;
      const vgpu = h === 1 && i >= 2;
      const labelled = h === 0 && i < 3; // ml/train-0..2 (GPU 1 and 2 idle)
      const idle = labelled && i >= 1;
      const model = h === 2 ? 'NVIDIA A100-SXM4-80GB' : 'NVIDIA H100 80GB HBM3';
      for (const [name, fn, kind] of fields) {
        if (vgpu && (kind === 'power' || kind === 'clock')) continue;
        lines.push(
          [ts, name, i, `nvidia${i}`, uuid, model, host, labelled ? 'main' : '', labelled ? `train-${i}` : '', labelled ? 'ml' : '', fn(s, g, idle), ''].map(q).join(','),
        );
      }
    }
  });
}
writeFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'fleet_dcgm.csv'), lines.join('\n') + '\n');
console.log(`${lines.length - 1} rows`);
