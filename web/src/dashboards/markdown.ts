// A safe subset of Markdown for text panels, parsed into a small tree that React renders as
// elements (never as HTML): headings, paragraphs, lists, block quotes, code blocks and rules;
// inline code, emphasis, strong and links (http, https, mailto and relative URLs only).
// Raw HTML is shown as text.

export type Inline =
  | { t: "text"; text: string }
  | { t: "code"; text: string }
  | { t: "em" | "strong"; children: Inline[] }
  | { t: "link"; href: string; children: Inline[] };

export type Block =
  | { t: "h"; level: number; children: Inline[] }
  | { t: "p"; children: Inline[] }
  | { t: "ul" | "ol"; items: Inline[][] }
  | { t: "pre"; text: string }
  | { t: "quote"; children: Inline[] }
  | { t: "hr" };

/** A link target that cannot run script: http(s), mailto, or relative. */
export function safeHref(href: string): string | undefined {
  const trimmed = href.trim();
  if (/^(https?:|mailto:)/i.test(trimmed)) return trimmed;
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed) || /^\/\//.test(trimmed)) return undefined;
  return trimmed;
}

export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let plain = "";
  const flush = () => {
    if (plain) out.push({ t: "text", text: plain });
    plain = "";
  };
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    let m: RegExpExecArray | null;
    if ((m = /^`([^`]+)`/.exec(rest))) {
      flush();
      out.push({ t: "code", text: m[1] });
    } else if ((m = /^\[([^\]]*)\]\(([^)\s]*)\)/.exec(rest))) {
      flush();
      const href = safeHref(m[2]);
      if (href !== undefined) out.push({ t: "link", href, children: parseInline(m[1]) });
      else out.push(...parseInline(m[1]));
    } else if ((m = /^(\*\*|__)(?=\S)([\s\S]*?\S)\1/.exec(rest))) {
      flush();
      out.push({ t: "strong", children: parseInline(m[2]) });
    } else if ((m = /^(\*|_)(?=\S)([\s\S]*?\S)\1(?!\w)/.exec(rest))) {
      flush();
      out.push({ t: "em", children: parseInline(m[2]) });
    } else if ((m = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?]/.exec(rest))) {
      flush();
      out.push({ t: "link", href: m[0], children: [{ t: "text", text: m[0] }] });
    } else {
      plain += text[i];
      i++;
      continue;
    }
    i += m[0].length;
  }
  flush();
  return out;
}

export function parseMarkdown(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const blocks: Block[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) blocks.push({ t: "p", children: parseInline(para.join(" ")) });
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    let m: RegExpExecArray | null;
    if (/^\s*```/.test(line)) {
      flush();
      const code: string[] = [];
      for (i++; i < lines.length && !/^\s*```/.test(lines[i]); i++) code.push(lines[i]);
      blocks.push({ t: "pre", text: code.join("\n") });
    } else if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      flush();
      blocks.push({ t: "h", level: m[1].length, children: parseInline(m[2]) });
    } else if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      blocks.push({ t: "hr" });
    } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
      flush();
      const ordered = /^\s*\d/.test(line);
      const items: Inline[][] = [];
      for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i++) items.push(parseInline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, "")));
      i--;
      blocks.push({ t: ordered ? "ol" : "ul", items });
    } else if (/^\s*>/.test(line)) {
      flush();
      const quote: string[] = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) quote.push(lines[i].replace(/^\s*>\s?/, ""));
      i--;
      blocks.push({ t: "quote", children: parseInline(quote.join(" ")) });
    } else if (!line.trim()) {
      flush();
    } else {
      para.push(line.trim());
    }
  }
  flush();
  return blocks;
}
