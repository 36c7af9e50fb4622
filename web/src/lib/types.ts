// Shapes of the gateway's HTTP/WebSocket contract (only the fields the dashboard reads).

export type Metrics = Record<string, number>;
export type Labels = Record<string, string>;

export interface ApiGpu {
  key: string;
  hostname?: string;
  uuid?: string;
  model?: string;
  index?: number;
  device?: string;
  last_seen?: string;
  last_seen_ns?: number;
  stale?: boolean;
  metrics?: Metrics;
  labels?: Labels;
  records?: number;
}

export interface ApiGpuList {
  gpus: ApiGpu[];
  next_cursor?: string | null;
  partial?: boolean;
  missing?: string[];
}

export interface ApiHost {
  hostname: string;
  gpus: number;
  keys: string[];
  stale_gpus?: number;
}

export interface ApiHostList {
  hosts: ApiHost[];
  partial?: boolean;
}

export interface AggregatePoint {
  t_ns: number;
  timestamp?: string;
  min?: number;
  avg?: number;
  max?: number;
  last?: number;
  count?: number;
}

export interface ApiAggregate {
  gpu: string;
  metric: string;
  step_ns: number;
  points: AggregatePoint[];
}

export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface HealthComponent {
  name: string;
  kind: string;
  url?: string;
  status: HealthStatus;
  latency_ms?: number;
  version?: string;
  uptime_seconds?: number;
  checked_at?: string;
  error?: string;
}

export interface ApiHealth {
  status: HealthStatus;
  version?: string;
  uptime_seconds?: number;
  components?: HealthComponent[];
  last_record_age_seconds?: number | null;
  stale_gpus?: number;
  gpus?: number;
}

export interface ApiStats {
  gateway?: {
    uptime_seconds?: number;
    requests_total?: number;
    latency_ms?: { p50?: number; p99?: number };
    cache?: { hits?: number; misses?: number; hit_rate?: number };
    ws?: { clients?: number; frames_sent?: number; frames_dropped?: number; records_in?: number };
  };
  mq?: Record<string, unknown> | null;
  collectors?: { name: string; url?: string; stats?: Record<string, unknown> | null }[];
}

/** A telemetry record as the WebSocket sends it ("type":"record") and the telemetry route returns it. */
export interface TelemetryRecord {
  type?: 'record';
  gpu_key: string;
  hostname?: string;
  uuid?: string;
  model?: string;
  gpu_index?: number;
  device?: string;
  timestamp?: string;
  timestamp_ns?: number;
  metrics?: Metrics;
  labels?: Labels;
}

export interface Subscription {
  gpus: string[];
  metrics: string[];
}

export type AlertSeverity = 'critical' | 'warning' | 'info';
export type AlertState = 'pending' | 'firing' | 'resolved' | 'event';

/** One alert or change of one, as REST, the WebSocket and the webhook carry it. */
export interface ApiAlert {
  seq?: number;
  rule: string;
  kind?: 'threshold' | 'stale' | 'event' | string;
  state: AlertState;
  severity: AlertSeverity;
  gpu?: string;
  uuid?: string;
  hostname?: string;
  metric?: string;
  op?: string;
  threshold?: number;
  value?: number;
  since?: string;
  since_ns?: number;
  active_since_ns?: number;
  message?: string;
}

/** GET /api/v1/alerts, and the WebSocket's {"type":"alerts"} snapshot. */
export interface ApiAlertList {
  alerts: ApiAlert[];
  firing?: number;
  pending?: number;
  last_seq?: number;
}

/** GET /api/v1/alerts/history (oldest first). */
export interface ApiAlertHistory {
  alerts: ApiAlert[];
  last_seq?: number;
}
