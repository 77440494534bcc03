// Renders the key-by-key reference of docs/user/02_configuration.md from quality.schema.json, so
// the guide cannot drift from what the loader accepts. Pure: schema in, markdown out.

export const CONFIG_DOC_BEGIN =
  '<!-- BEGIN GENERATED: npm run docs (config/scripts/gen-config-doc.mjs) -->';
export const CONFIG_DOC_END = '<!-- END GENERATED -->';

type Schema = {
  $ref?: string;
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: boolean | Schema;
  required?: string[];
  definitions?: Record<string, Schema>;
  oneOf?: Schema[];
  anyOf?: Schema[];
};

interface Row {
  key: string;
  type: string;
  def: string;
  description: string;
}

function resolve(root: Schema, node: Schema): { node: Schema; ref?: string } {
  if (node.$ref === undefined) return { node };
  const name = node.$ref.replace(/^#\/definitions\//, '');
  const target = root.definitions?.[name];
  if (target === undefined) throw new Error(`quality.schema.json: unresolved $ref ${node.$ref}`);
  return { node: target, ref: name };
}

function typeOf(root: Schema, node: Schema): string {
  const { node: n } = resolve(root, node);
  if (n.const !== undefined) return `\`${JSON.stringify(n.const)}\``;
  if (n.enum !== undefined) return n.enum.map((e) => `\`${String(e)}\``).join(', ');
  const alts = n.oneOf ?? n.anyOf;
  if (alts !== undefined) return alts.map((a) => typeOf(root, a)).join(' or ');
  const t = Array.isArray(n.type) ? n.type.join(' or ') : (n.type ?? 'any');
  if (t === 'array' && n.items !== undefined) return `list of ${typeOf(root, n.items)}`;
  const bounds = [
    n.minimum !== undefined ? `≥ ${n.minimum}` : '',
    n.maximum !== undefined ? `≤ ${n.maximum}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return bounds ? `${t} (${bounds})` : t;
}

function describe(node: Schema, target: Schema): string | undefined {
  return node.description ?? target.description;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Every key path whose schema (or its $ref target) has no description. */
export function undocumentedKeys(root: Schema): string[] {
  const missing: string[] = [];
  const seen = new Set<string>();
  const walk = (node: Schema, path: string): void => {
    const { node: n, ref } = resolve(root, node);
    if (ref !== undefined) {
      if (seen.has(ref)) return;
      seen.add(ref);
    }
    for (const [key, child] of Object.entries(n.properties ?? {})) {
      const q = path ? `${path}.${key}` : key;
      const target = resolve(root, child).node;
      if (describe(child, target) === undefined) missing.push(q);
      walk(child, q);
    }
    if (n.items !== undefined) walk(n.items, `${path}[]`);
    if (typeof n.additionalProperties === 'object') walk(n.additionalProperties, `${path}.*`);
    for (const alt of n.oneOf ?? n.anyOf ?? []) walk(alt, path);
  };
  walk(root, '');
  return missing;
}

/** The generated reference: one table per object, in schema order; a shared definition is
 * expanded where it first appears and referred to afterwards. */
export function renderConfigReference(root: Schema): string {
  const missing = undocumentedKeys(root);
  if (missing.length > 0) {
    throw new Error(`quality.schema.json: keys without a description: ${missing.join(', ')}`);
  }
  const sections: string[] = [];
  const expanded = new Map<string, string>();
  const walk = (node: Schema, path: string): void => {
    const { node: n, ref } = resolve(root, node);
    if (ref !== undefined) expanded.set(ref, path);
    const rows: Row[] = [];
    const children: Array<[Schema, string]> = [];
    for (const [key, child] of Object.entries(n.properties ?? {})) {
      const q = path ? `${path}.${key}` : key;
      const r = resolve(root, child);
      let description = describe(child, r.node) ?? '';
      const required = n.required?.includes(key) ? ' **Required.**' : '';
      const isObject = r.node.properties !== undefined;
      const items = r.node.items !== undefined ? resolve(root, r.node.items) : undefined;
      const itemsObject = items?.node.properties !== undefined;
      const again = r.ref !== undefined ? expanded.get(r.ref) : undefined;
      const againItems = items?.ref !== undefined ? expanded.get(items.ref) : undefined;
      if (isObject && again !== undefined) description += ` Same keys as \`${again}\`.`;
      else if (isObject) children.push([child, q]);
      if (itemsObject && againItems !== undefined) description += ` Items as \`${againItems}[]\`.`;
      else if (itemsObject && r.node.items !== undefined) children.push([r.node.items, `${q}[]`]);
      const d = r.node.default ?? child.default;
      rows.push({
        key: `\`${q}\``,
        type: isObject ? 'object' : typeOf(root, child),
        def:
          d === undefined || (typeof d === 'object' && d !== null && Object.keys(d).length === 0)
            ? ''
            : `\`${JSON.stringify(d)}\``,
        description: description + required,
      });
      // Children are rendered after this table, so mark shared definitions now: a later sibling
      // refers to the first one.
      if (isObject && r.ref !== undefined && again === undefined) expanded.set(r.ref, q);
      if (itemsObject && items?.ref !== undefined && againItems === undefined)
        expanded.set(items.ref, `${q}[]`);
    }
    if (rows.length > 0) {
      const title = path === '' ? 'Top level' : `\`${path}\``;
      const intro = path === '' ? root.description : describe(node, n);
      sections.push(
        [
          `### ${title}`,
          '',
          ...(intro ? [intro, ''] : []),
          '| Key | Type | Default | Description |',
          '| --- | --- | --- | --- |',
          ...rows.map(
            (r) => `| ${r.key} | ${cell(r.type)} | ${cell(r.def)} | ${cell(r.description)} |`,
          ),
          '',
        ].join('\n'),
      );
    }
    for (const [child, q] of children) walk(child, q);
  };
  walk(root, '');
  return `${CONFIG_DOC_BEGIN}\n\n## Every key\n\n${sections.join('\n')}\n${CONFIG_DOC_END}`;
}

/** config/examples, each shown whole (name → file text), in name order. */
export function renderExamples(examples: Record<string, string>): string {
  return Object.keys(examples)
    .sort()
    .map(
      (name) =>
        `### \`config/examples/${name}\`\n\n\`\`\`yaml\n${examples[name]!.trimEnd()}\n\`\`\`\n`,
    )
    .join('\n');
}

/** The guide with its generated part replaced by a fresh rendering. */
export function withConfigReference(
  guide: string,
  root: Schema,
  examples: Record<string, string> = {},
): string {
  const begin = guide.indexOf(CONFIG_DOC_BEGIN);
  const end = guide.indexOf(CONFIG_DOC_END);
  if (begin < 0 || end < begin) {
    throw new Error('docs/user/02_configuration.md: the generated-section markers are missing');
  }
  const body = renderConfigReference(root).slice(0, -CONFIG_DOC_END.length);
  const shown =
    Object.keys(examples).length > 0 ? `## Examples\n\n${renderExamples(examples)}\n` : '';
  return (
    guide.slice(0, begin) + body + shown + CONFIG_DOC_END + guide.slice(end + CONFIG_DOC_END.length)
  );
}
