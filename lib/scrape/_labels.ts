/** Label-set helpers shared by the scrape modules (private). @module */

/** A stable key for a label set: `name="value"` pairs sorted by name, joined by commas. */
export function labelsKey(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(",");
}
