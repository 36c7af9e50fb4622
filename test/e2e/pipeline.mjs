// Starting and stopping the real services for the dashboard e2e test. Each service logs one JSON
// object per line on stdout; "service.ready" carries its bound ports/URLs.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';

export class Service {
  constructor(name, bin, args, logDir) {
    this.name = name;
    this.bin = bin;
    this.args = args;
    this.logDir = logDir;
    this.runs = 0;
    this.proc = null;
    this.ready = null;
    this.exits = [];
  }

  /** Starts the process and resolves with its service.ready object. */
  start(timeoutMs = 20000) {
    if (!existsSync(this.bin)) throw new Error(`${this.name}: ${this.bin} does not exist`);
    this.runs++;
    const log = createWriteStream(join(this.logDir, `${this.name}.${this.runs}.log`));
    const proc = spawn(this.bin, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    this.ready = null;
    let buf = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no service.ready within ${timeoutMs} ms (see ${log.path})`)), timeoutMs);
      proc.stdout.on('data', (d) => {
        log.write(d);
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (this.ready || !line.includes('"service.ready"')) continue;
          try {
            this.ready = JSON.parse(line);
          } catch {
            continue;
          }
          clearTimeout(timer);
          resolve(this.ready);
        }
      });
      proc.stderr.on('data', (d) => log.write(d));
      proc.on('exit', (code, signal) => {
        this.exits.push({ code, signal });
        log.end();
        if (this.proc === proc) this.proc = null;
        clearTimeout(timer);
        if (!this.ready) reject(new Error(`${this.name} exited (${code ?? signal}) before service.ready (see ${log.path})`));
      });
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop(graceMs = 10000) {
    const proc = this.proc;
    if (!proc) return Promise.resolve(this.exits.at(-1)?.code ?? null);
    return new Promise((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      proc.once('exit', (code) => {
        clearTimeout(t);
        resolve(code);
      });
      proc.kill('SIGTERM');
    });
  }
}

/** A port field of a ready line ("http_port", "port", or the port of a URL field). */
export function portOf(ready, ...fields) {
  for (const f of fields) {
    const v = ready?.[f];
    if (typeof v === 'number') return v;
    if (typeof v === 'string') {
      const m = /:(\d+)\/?$/.exec(v);
      if (m) return Number(m[1]);
    }
  }
  return null;
}
