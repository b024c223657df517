// Renders a mail's content once as plain text and once as HTML, escaping every value in the HTML.

/** A link the reader is asked to open: shown as a labelled anchor in HTML and as a bare URL in text. */
export interface LinkBlock {
  readonly label: string;
  readonly href: string;
}

/** A paragraph of plain words, or the mail's link. Every string here is data, never markup. */
export type Block = string | LinkBlock;

/** The finished parts of a mail. */
export interface RenderedParts {
  readonly text: string;
  readonly html: string;
}

// nodemailer sends an HTML part exactly as given and has no escaping helper, and values such as a
// stored User-Agent are chosen by whoever made the request: escape the five characters that
// can end text or an attribute value.
const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** The text with every character that HTML could read as markup replaced by its entity. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

function isLink(block: Block): block is LinkBlock {
  return typeof block !== 'string';
}

/** The text part: paragraphs split by blank lines, a link on a line of its own so clients can linkify it whole. */
function renderText(blocks: readonly Block[]): string {
  return `${blocks.map((block) => (isLink(block) ? `${block.label}:\n${block.href}` : block)).join('\n\n')}\n`;
}

function renderHtmlBlock(block: Block): string {
  if (!isLink(block)) return `<p>${escapeHtml(block)}</p>`;
  const href = escapeHtml(block.href);
  // The URL is printed too: some clients strip anchors, and a reader may want to see where it goes.
  return `<p><a href="${href}">${escapeHtml(block.label)}</a></p>\n<p style="font-size:12px;color:#555;word-break:break-all">${href}</p>`;
}

function renderHtml(title: string, blocks: readonly Block[]): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#111;max-width:36em">',
    ...blocks.map(renderHtmlBlock),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Both parts of one mail from the same blocks, so the text and HTML parts never say different things. */
export function renderParts(title: string, blocks: readonly Block[]): RenderedParts {
  return { text: renderText(blocks), html: renderHtml(title, blocks) };
}
