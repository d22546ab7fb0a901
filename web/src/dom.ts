// A tiny element builder: text goes in as text nodes, never as HTML, so callsigns and names from the feed
// cannot inject markup.
type Child = Node | string | number | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "object" ? c : String(c));
  }
  return node;
}

export function formatCount(n: number): string {
  return n.toLocaleString("en-GB");
}
