/**
 * Prometheus text exposition format (version 0.0.4), for node_exporter's textfile collector and
 * /metrics endpoints. Families are declared with HELP and TYPE; label values are escaped
 * (backslash, double quote, newline) so a hostile string cannot break the format.
 */
import { writeFileAtomic } from './output.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'untyped';

export interface Sample {
  labels?: Record<string, string | number>;
  value: number;
  /** For histograms: the sample name suffix (_bucket, _sum, _count). */
  suffix?: string;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function renderPrometheus(families: MetricFamily[]): string {
  const out: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {});
      for (const [k] of labels) if (!LABEL.test(k)) throw new Error(`invalid label name ${k}`);
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(',')}}` : '';
      out.push(`${f.name}${s.suffix ?? ''}${l} ${formatValue(s.value)}`);
    }
  }
  return out.join('\n') + '\n';
}

/** Histogram samples (cumulative buckets, sum, count) from raw observations. */
export function histogramSamples(values: number[], buckets: number[], labels: Record<string, string> = {}): Sample[] {
  const out: Sample[] = [];
  for (const le of buckets) out.push({ suffix: '_bucket', labels: { ...labels, le: String(le) }, value: values.filter((v) => v <= le).length });
  out.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: values.length });
  out.push({ suffix: '_sum', labels, value: values.reduce((a, b) => a + b, 0) });
  out.push({ suffix: '_count', labels, value: values.length });
  return out;
}

/** Write a textfile for node_exporter: atomically, so the collector never reads half a file. */
export async function writePromTextfile(path: string, families: MetricFamily[]): Promise<void> {
  await writeFileAtomic(path, renderPrometheus(families));
}
