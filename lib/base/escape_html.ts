/**
 * HTML escaping for text put into markup (report pages, notebook outputs, the progress bar).
 * @module
 */

/** HTML-escapes text for element content and attribute values (& < > " '). */
export function escapeHtml(text: unknown): string {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
