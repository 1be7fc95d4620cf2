/**
 * A minimal reader of Prometheus text samples, for the sim's tests (the lab's scraper has its own).
 * @module
 */

/** Every sample line as name, labels and value (a minimal reader of the text format). */
export function samples(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([^{\s]+)(?:\{(.*)\})? (\S+)$/);
    if (!m) throw new Error(`Unparseable sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function value(text: string, name: string, labels: Record<string, string> = {}): number {
  const s = samples(text).filter((x) =>
    x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v)
  );
  if (s.length !== 1) throw new Error(`${s.length} samples of ${name} ${JSON.stringify(labels)}`);
  return s[0].value;
}
