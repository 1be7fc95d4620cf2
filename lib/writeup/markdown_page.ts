/**
 * The write-up's HTML sections as a Markdown file (day_writeup.md), and the numbers a reader sees in such a
 * file. A fact stays an inline `<span class="fact" data-fact="id">value</span>` (Markdown keeps inline HTML;
 * a renderer shows the value), and text quoted from the seed a `<span class="seed">`, so the provenance check
 * (trace.ts) reads the Markdown with the same rule as the HTML pages.
 * @module
 */
import { parseHTML } from "linkedom";
import { escapeHtml } from "../report/bundle.ts";

const BLOCK = new Set(["P", "UL", "OL", "TABLE", "PRE", "H1", "H2", "H3", "H4", "DIV", "BLOCKQUOTE"]);

function escText(t: string): string {
  return t.replace(/\s+/g, " ").replace(/[\\`*_[\]|#]/g, (c) => `\\${c}`).replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

function inline(node: Node): string {
  if (node.nodeType === 3) return escText(node.textContent ?? "");
  if (node.nodeType !== 1) return "";
  const el = node as Element;
  const tag = el.tagName.toUpperCase();
  const kids = () => Array.from(el.childNodes).map(inline).join("");
  const cls = (el.getAttribute("class") ?? "").split(/\s+/);
  switch (tag) {
    case "STRONG":
    case "B":
      return `**${kids().trim()}**`;
    case "EM":
    case "I":
      return `*${kids().trim()}*`;
    case "CODE": {
      const t = el.textContent ?? "";
      return t.includes("`") || t.includes("|") ? `<code>${escapeHtml(t)}</code>` : `\`${t}\``;
    }
    case "A":
      return `[${kids()}](${el.getAttribute("href") ?? ""})`;
    case "BR":
      return "<br>";
    case "SPAN":
    case "Q":
      if (cls.includes("fact")) {
        return `<span class="fact" data-fact="${escapeHtml(el.getAttribute("data-fact") ?? "")}">${
          escapeHtml(el.textContent ?? "")
        }</span>`;
      }
      if (cls.includes("seed")) {
        const q = tag === "Q" ? ["“", "”"] : ["", ""];
        return `<span class="seed">${q[0]}${escapeHtml(el.textContent ?? "")}${q[1]}</span>`;
      }
      return kids();
    default:
      return BLOCK.has(tag) ? blocks(el).join(" ") : kids();
  }
}

function table(el: Element): string {
  const rows = Array.from(el.querySelectorAll("tr")).map((tr) =>
    Array.from(tr.children).map((c) => inline(c).trim().replace(/\n+/g, " ") || " ")
  );
  if (!rows.length) return "";
  const width = Math.max(...rows.map((r) => r.length));
  const line = (r: string[]) => `| ${[...r, ...Array(width - r.length).fill(" ")].join(" | ")} |`;
  const caption = el.querySelector("caption");
  return [
    ...(caption ? [`*${inline(caption).trim()}*`, ""] : []),
    line(rows[0]),
    `|${Array(width).fill("---").join("|")}|`,
    ...rows.slice(1).map(line),
  ].join("\n");
}

function list(el: Element, ordered: boolean): string {
  const items = Array.from(el.children).filter((c) => c.tagName.toUpperCase() === "LI");
  const tasks = (el.getAttribute("class") ?? "").split(/\s+/).includes("tasks");
  return items.map((li, i) => {
    const marker = ordered
      ? `${i + 1}. `
      : tasks
      ? (li.getAttribute("class") ?? "").includes("done") ? "- [x] " : "- [ ] "
      : "- ";
    const pad = " ".repeat(marker.length);
    const parts = blocks(li);
    const body = parts.join("\n\n").split("\n").map((l, j) => (j === 0 ? l : l ? pad + l : l)).join("\n");
    return marker + body;
  }).join("\n");
}

/** The block-level Markdown of an element's children (inline runs become paragraphs). */
function blocks(el: Element): string[] {
  const out: string[] = [];
  let run = "";
  const flush = () => {
    if (run.trim()) out.push(run.trim());
    run = "";
  };
  for (const c of Array.from(el.childNodes)) {
    const tag = c.nodeType === 1 ? (c as Element).tagName.toUpperCase() : "";
    if (!BLOCK.has(tag)) {
      run += inline(c);
      continue;
    }
    flush();
    const e = c as Element;
    const cls = (e.getAttribute("class") ?? "").split(/\s+/);
    if (/^H[1-4]$/.test(tag)) {
      const text = Array.from(e.childNodes).map(inline).join("").trim();
      out.push(
        `${"#".repeat(Number(tag[1]))} ${cls.includes("seed") ? `<span class="seed">${text}</span>` : text}`,
      );
    } else if (tag === "P" || tag === "DIV" || tag === "BLOCKQUOTE") {
      const inner = blocks(e).join("\n\n");
      if (inner) out.push(tag === "BLOCKQUOTE" ? inner.split("\n").map((l) => `> ${l}`).join("\n") : inner);
    } else if (tag === "UL" || tag === "OL") out.push(list(e, tag === "OL"));
    else if (tag === "TABLE") out.push(table(e));
    else if (tag === "PRE") out.push("```\n" + (e.textContent ?? "").replace(/\n$/, "") + "\n```");
  }
  flush();
  return out;
}

/**
 * An HTML fragment (the write-up's sections) as Markdown: headings, paragraphs, lists, tables, code; facts
 * and seed quotes kept as inline spans.
 *
 * @example
 * ```ts
 * htmlToMarkdown('<h2>Key Numbers</h2><p>Warm TTFT <span class="fact" data-fact="a">12 ms</span>.</p>');
 * // '## Key Numbers\n\nWarm TTFT <span class="fact" data-fact="a">12 ms</span>.\n'
 * ```
 */
export function htmlToMarkdown(html: string): string {
  const { document } = parseHTML(`<!doctype html><html><body><div>${html}</div></body></html>`);
  const root = document.body.firstElementChild as Element;
  return blocks(root).join("\n\n").replace(/\n{3,}/g, "\n\n") + "\n";
}

/**
 * The Markdown a reader sees, as HTML the trace can check: code blocks, code spans, link targets, list
 * markers and table rules removed (they are not numbers a reader is told), inline spans kept.
 *
 * @example
 * ```ts
 * markdownAsCheckedHtml("1. TTFT was 12 ms"); // "<p>TTFT was 12 ms</p>" (the 12 is then a bare number)
 * ```
 */
export function markdownAsCheckedHtml(text: string): string {
  const lines = text.replace(/```[\s\S]*?```/g, "").split("\n").map((l) =>
    l.replace(/`[^`]*`/g, "").replace(/<code>[\s\S]*?<\/code>/g, "")
      .replace(/\]\([^)]*\)/g, "]")
      .replace(/^\s*(?:[-*]|\d+\.)\s+/, "")
      .replace(/^\s*>\s?/, "")
      .replace(/^\|?(?:\s*:?-{3,}:?\s*\|)+\s*$/, "")
      .replace(/^#+\s/, "")
  );
  return `<!doctype html><html><body>${lines.map((l) => `<p>${l}</p>`).join("\n")}</body></html>`;
}
