// A small, strict JSON Schema (2020-12 subset) checker for the OpenAPI document: it refuses keywords it does not know rather than ignore them.

export type JsonSchema = Record<string, unknown>;

/** Keywords that only annotate: they constrain nothing. */
const ANNOTATIONS = new Set(['description', 'example', 'examples', 'default', 'title', 'deprecated', 'readOnly', 'writeOnly']);
const CHECKED = new Set([
  '$ref', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'minLength',
  'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'minItems', 'anyOf', 'oneOf', 'propertyNames',
]);

const FORMATS: Record<string, (value: string) => boolean> = {
  'date-time': (value) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)),
  email: (value) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value),
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function matchesType(value: unknown, type: string): boolean {
  const actual = typeOf(value);
  return actual === type || (type === 'number' && actual === 'integer');
}

/**
 * Every way `value` breaks `schema` (empty when it conforms). `$ref`s resolve against `root`
 * (`#/components/schemas/...`). Throws on a keyword it cannot check, so nothing passes unchecked.
 */
export function schemaProblems(schema: JsonSchema, value: unknown, root: JsonSchema, at = '$'): string[] {
  for (const keyword of Object.keys(schema)) {
    if (!CHECKED.has(keyword) && !ANNOTATIONS.has(keyword)) {
      throw new Error(`json-schema helper: unsupported keyword "${keyword}" at ${at}`);
    }
  }
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], root);
    if (!target) throw new Error(`json-schema helper: unresolved ${schema.$ref}`);
    return schemaProblems(target as JsonSchema, value, root, at);
  }

  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${at} ${message}`);

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((type) => matchesType(value, type))) return [`${at} is ${typeOf(value)}, not ${types.join('|')}`];
  }
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) fail(`is ${JSON.stringify(value)}, not one of the enum`);
  if ('const' in schema && schema.const !== value) fail(`is ${JSON.stringify(value)}, not ${JSON.stringify(schema.const)}`);

  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.minLength === 'number' && length < schema.minLength) fail(`is shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && length > schema.maxLength) fail(`is longer than ${schema.maxLength}`);
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) fail(`does not match ${schema.pattern}`);
    if (typeof schema.format === 'string') {
      const check = FORMATS[schema.format];
      if (!check) throw new Error(`json-schema helper: unsupported format "${schema.format}" at ${at}`);
      if (!check(value)) fail(`is not a ${schema.format}`);
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) fail(`is below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) fail(`is above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) fail(`has fewer than ${schema.minItems} items`);
    if (schema.items) {
      value.forEach((item, index) => problems.push(...schemaProblems(schema.items as JsonSchema, item, root, `${at}[${index}]`)));
    }
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>;
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const name of (schema.required ?? []) as string[]) {
      if (!(name in object)) fail(`lacks the required "${name}"`);
    }
    for (const [name, field] of Object.entries(object)) {
      if (properties[name]) problems.push(...schemaProblems(properties[name], field, root, `${at}.${name}`));
      else if (schema.additionalProperties === false) fail(`has "${name}", which the schema does not allow`);
      else if (typeof schema.additionalProperties === 'object') {
        problems.push(...schemaProblems(schema.additionalProperties as JsonSchema, field, root, `${at}.${name}`));
      }
      if (schema.propertyNames) problems.push(...schemaProblems(schema.propertyNames as JsonSchema, name, root, `${at} key`));
    }
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword] as JsonSchema[] | undefined;
    if (!options) continue;
    const passing = options.filter((option) => schemaProblems(option, value, root, at).length === 0).length;
    if (keyword === 'anyOf' ? passing === 0 : passing !== 1) fail(`matches ${passing} of the ${keyword} options`);
  }
  return problems;
}
