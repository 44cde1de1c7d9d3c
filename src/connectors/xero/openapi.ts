/**
 * Checks Xero traffic against Xero's official OpenAPI description (XeroAPI/Xero-OpenAPI,
 * `xero_accounting.yaml`, kept in ./spec/): every request the connector sends and every
 * answer the simulator gives, message by message (tests capture the traffic of a contract run).
 *
 * The description's schemas are loose (no `additionalProperties: false`, almost nothing required),
 * so a body full of misspelt members would pass them. The check is therefore strict: every object
 * schema admits only its declared members, and read-only members (`UpdatedDateUTC`,
 * `HasAttachments`) are refused in requests. Three widenings, each from the description's own
 * examples or Xero's documented behaviour, keep real answers valid:
 *
 * - a ManualJournals answer may carry `Id`, `Status`, `ProviderName`, `DateTimeUTC` (in every
 *   example answer, in no schema);
 * - an `Element` of a 400 may carry the fields of the ManualJournal it echoes (api-contracts.md:
 *   elements carry ValidationErrors and the object's own fields [C]);
 * - answers with a status the description does not list follow what we documented in README.md:
 *   401/403 the identity layer's problem body [S], 429 only headers, 404/5xx the Error schema.
 *
 * Amounts: `LineAmount` and `TaxAmount` are `type: number, format: double` in the description.
 * The validators see the message through JSON.parse (a double is fine for checking a type);
 * exactness is the connector's own business (exact-json.ts), and `moneyFieldsTypedAsDouble`
 * lists the members where it matters.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';
import { API_PREFIX } from './mapping.ts';

/** The official description (XeroAPI/Xero-OpenAPI 16.1.0, MIT: spec/LICENSE), kept in the repository so a fresh clone checks against it. */
export const XERO_OPENAPI_FILE = fileURLToPath(new URL('./spec/xero_accounting.yaml', import.meta.url));

export interface CapturedRequest {
  readonly method: string;
  /** Path and query, e.g. `/api.xro/2.0/ManualJournals?summarizeErrors=true`. */
  readonly url: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface CapturedAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

type Json = Record<string, unknown>;

export interface XeroOpenApi {
  /** `info.version` of the description, e.g. 16.1.0. */
  readonly version: string;
  /** The parsed description, for tests that read its examples. */
  readonly document: Json;
  /** Problems with one request; empty when it conforms. */
  checkRequest(request: CapturedRequest): string[];
  /** Problems with one answer to a request; empty when it conforms. */
  checkAnswer(request: Pick<CapturedRequest, 'method' | 'url'>, answer: CapturedAnswer): string[];
  /** Validates a value against a component schema (`ManualJournals`, `Error`, …) in the request or answer variant. */
  validate(schema: string, value: unknown, direction: 'request' | 'answer'): string[];
  /** `Schema.member (type, format)` for every member typed as a floating-point number, reachable from a schema. */
  moneyFieldsTypedAsDouble(root: string): string[];
}

interface Operation {
  readonly template: string;
  readonly parameters: readonly Json[];
  readonly requestSchema?: Json;
  readonly responses: Readonly<Record<string, Json | undefined>>;
  readonly security: boolean;
}

const MS_DATE = '^/Date\\(-?\\d+([+-]\\d{4})?\\)/$';
const ENVELOPE = { Id: { type: 'string', format: 'uuid' }, Status: { type: 'string' }, ProviderName: { type: 'string' }, DateTimeUTC: { type: 'string', pattern: MS_DATE } };
const PROBLEM_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['Title', 'Status', 'Detail'],
  properties: { Type: { type: ['string', 'null'] }, Title: { type: 'string' }, Status: { type: 'integer' }, Detail: { type: 'string' }, Instance: { type: 'string' }, Extensions: { type: 'object' } },
};
const RATE_LIMIT_PROBLEMS = new Set(['minute', 'day', 'concurrent', 'appminute']);

export function loadXeroOpenApi(file: string = XERO_OPENAPI_FILE): XeroOpenApi {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`The Xero OpenAPI description is missing at ${file} (src/connectors/xero/spec/): ${(error as Error).message}`);
  }
  const document = parseYaml(text, { maxAliasCount: -1 }) as Json;
  const components = (document.components ?? {}) as Json;
  const schemas = (components.schemas ?? {}) as Record<string, Json>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  for (const direction of ['request', 'answer'] as const) ajv.addSchema({ $id: `xero-${direction}`, definitions: definitionsFor(schemas, direction) });
  ajv.addSchema({ $id: 'xero-problem', ...PROBLEM_SCHEMA });
  const validators = new Map<string, ValidateFunction>();
  const validatorOf = (ref: string) => {
    let validator = validators.get(ref);
    if (!validator) {
      validator = ajv.compile({ $ref: ref });
      validators.set(ref, validator);
    }
    return validator;
  };
  const run = (ref: string, value: unknown, where: string) => {
    const validator = validatorOf(ref);
    return validator(value) ? [] : (validator.errors ?? []).map((error) => `${where}: ${describeError(error)}`);
  };
  const operations = readOperations(document);

  const validate = (schema: string, value: unknown, direction: 'request' | 'answer') => {
    if (!Object.hasOwn(schemas, schema)) throw new Error(`Assertion failed: the description has no schema ${schema}`);
    return run(`xero-${direction}#/definitions/${schema}`, value, schema);
  };

  return {
    version: String((document.info as Json | undefined)?.version ?? ''),
    document,
    validate,
    checkRequest: (request) => checkRequest(operations, request, (schema, value, where) => run(schemaRef(schema, 'request'), value, where)),
    checkAnswer: (request, answer) => checkAnswer(operations, request, answer, (schema, value, where) => run(schemaRef(schema, 'answer'), value, where), run),
    moneyFieldsTypedAsDouble: (root) => moneyFields(schemas, root),
  };
}

function schemaRef(schema: Json, direction: 'request' | 'answer'): string {
  const ref = schema.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/components/schemas/')) throw new Error(`Assertion failed: expected a component schema reference, got ${JSON.stringify(schema)}`);
  return `xero-${direction}#/definitions/${ref.slice('#/components/schemas/'.length)}`;
}

/** The component schemas as strict JSON Schema for one direction, with the widenings in the module comment. */
function definitionsFor(schemas: Record<string, Json>, direction: 'request' | 'answer'): Record<string, unknown> {
  const definitions: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(schemas)) definitions[name] = convert(schema, direction) as Json;
  if (direction === 'answer') {
    const manualJournals = definitions.ManualJournals as { properties: Json };
    manualJournals.properties = { ...manualJournals.properties, ...ENVELOPE };
    const element = definitions.Element as { properties: Json };
    element.properties = { ...(definitions.ManualJournal as { properties: Json }).properties, ...element.properties };
  }
  return definitions;
}

/** OpenAPI 3.0 schema object -> JSON Schema: refs into definitions, nullable, vendor keys dropped, closed objects. */
function convert(node: unknown, direction: 'request' | 'answer'): unknown {
  if (Array.isArray(node)) return node.map((item) => convert(item, direction));
  if (node === null || typeof node !== 'object') return node;
  const source = node as Json;
  if (typeof source.$ref === 'string') return { $ref: source.$ref.replace('#/components/schemas/', '#/definitions/') };
  const out: Json = {};
  for (const [key, value] of Object.entries(source)) {
    if (key.startsWith('x-') || ['example', 'examples', 'externalDocs', 'xml', 'default', 'readOnly', 'writeOnly', 'nullable', 'description', 'discriminator'].includes(key)) continue;
    if (key === 'properties') {
      const properties: Json = {};
      for (const [name, property] of Object.entries(value as Json)) {
        if (direction === 'request' && (property as Json | null)?.readOnly === true) continue;
        properties[name] = withDatePattern(convert(property, direction) as Json, property as Json, direction);
      }
      out.properties = properties;
    } else if (['items', 'additionalProperties', 'not', 'allOf', 'anyOf', 'oneOf'].includes(key)) {
      out[key] = convert(value, direction);
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(out.required) && out.properties !== undefined) out.required = (out.required as string[]).filter((name) => Object.hasOwn(out.properties as Json, name));
  if (source.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const composed = out.allOf !== undefined || out.anyOf !== undefined || out.oneOf !== undefined;
  if ((out.type === 'object' || out.properties !== undefined) && out.additionalProperties === undefined && !composed) out.additionalProperties = false;
  return out;
}

/** Xero's `x-is-msdate` members: `/Date(ms+0000)/` in answers, `YYYY-MM-DD` in requests (the description's wording). */
function withDatePattern(converted: Json, original: Json | null, direction: 'request' | 'answer'): Json {
  if (original === null || typeof original !== 'object' || converted.$ref !== undefined) return converted;
  if (original['x-is-msdate-time'] === true && direction === 'answer') return { ...converted, pattern: MS_DATE };
  if (original['x-is-msdate'] === true) return { ...converted, pattern: direction === 'answer' ? MS_DATE : '^\\d{4}-\\d{2}-\\d{2}$' };
  return converted;
}

function readOperations(document: Json): Map<string, Operation> {
  const operations = new Map<string, Operation>();
  const components = (document.components ?? {}) as Json;
  const resolve = (node: Json): Json => {
    const ref = node.$ref;
    if (typeof ref !== 'string') return node;
    const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? [];
    const target = ((components[section] ?? {}) as Json)[name];
    if (target === undefined) throw new Error(`Assertion failed: unresolved reference ${ref} in the Xero description`);
    return resolve(target as Json);
  };
  for (const [template, item] of Object.entries((document.paths ?? {}) as Record<string, Json>)) {
    const shared = ((item.parameters ?? []) as Json[]).map(resolve);
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
      const operation = item[method] as Json | undefined;
      if (operation === undefined) continue;
      const parameters = [...shared, ...((operation.parameters ?? []) as Json[]).map(resolve)];
      const body = operation.requestBody === undefined ? undefined : resolve(operation.requestBody as Json);
      const requestSchema = ((body?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
      const responses: Record<string, Json | undefined> = {};
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        responses[status] = ((resolve(response).content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as Json | undefined;
      }
      operations.set(`${method.toUpperCase()} ${template}`, { template, parameters, ...(requestSchema && { requestSchema }), responses, security: Array.isArray(operation.security) && operation.security.length > 0 });
    }
  }
  return operations;
}

function findOperation(operations: Map<string, Operation>, method: string, url: string): { operation?: Operation; path: string; query: URLSearchParams } {
  const parsed = new URL(url, 'http://xero');
  const path = parsed.pathname.startsWith(API_PREFIX) ? parsed.pathname.slice(API_PREFIX.length) : parsed.pathname;
  for (const [key, operation] of operations) {
    if (!key.startsWith(`${method.toUpperCase()} `)) continue;
    const pattern = new RegExp(`^${operation.template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
    if (pattern.test(path)) return { operation, path, query: parsed.searchParams };
  }
  return { path, query: parsed.searchParams };
}

type Run = (schema: Json, value: unknown, where: string) => string[];

function checkRequest(operations: Map<string, Operation>, request: CapturedRequest, run: Run): string[] {
  const { operation, path, query } = findOperation(operations, request.method, request.url);
  const subject = `${request.method} ${path}`;
  if (!request.url.startsWith(`${API_PREFIX}/`)) return [`${subject}: not below the server path ${API_PREFIX}`];
  if (operation === undefined) return [`${subject}: no such operation in the description`];
  const problems: string[] = [];
  if (operation.security && !/^Bearer \S+$/.test(request.headers.authorization ?? '')) problems.push(`${subject}: no OAuth2 bearer token in Authorization`);
  const declaredQuery = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => String(p.name)));
  for (const name of query.keys()) if (!declaredQuery.has(name)) problems.push(`${subject}: query parameter ${name} is not declared`);
  for (const parameter of operation.parameters) {
    const name = String(parameter.name);
    const value = parameter.in === 'header' ? request.headers[name.toLowerCase()] : parameter.in === 'query' ? (query.get(name) ?? undefined) : undefined;
    if (parameter.in !== 'header' && parameter.in !== 'query') continue;
    if (value === undefined) {
      if (parameter.required === true) problems.push(`${subject}: required ${parameter.in} ${name} is missing`);
      continue;
    }
    problems.push(...checkParameter(parameter, value).map((problem) => `${subject}: ${parameter.in} ${name} ${problem}`));
  }
  if (operation.requestSchema === undefined) {
    if (request.body !== '') problems.push(`${subject}: the operation takes no body`);
    return problems;
  }
  if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) problems.push(`${subject}: Content-Type is not application/json`);
  const body = parseJson(request.body);
  if (body === undefined) return [...problems, `${subject}: the body is not JSON`];
  return [...problems, ...run(operation.requestSchema, body, `${subject} request body`)];
}

function checkParameter(parameter: Json, value: string): string[] {
  const schema = (parameter.schema ?? {}) as Json;
  const problems: string[] = [];
  if (schema.type === 'boolean' && !/^(true|false)$/.test(value)) problems.push(`"${value}" is not a boolean`);
  if (schema.type === 'integer' && !/^-?\d+$/.test(value)) problems.push(`"${value}" is not an integer`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`"${value}" is not one of ${schema.enum.join(', ')}`);
  // The description states the Idempotency-Key limit in words ("128 character max."), not as maxLength.
  const max = /(\d+) character max/i.exec(String(parameter.description ?? ''))?.[1];
  if (max !== undefined && value.length > Number(max)) problems.push(`is ${value.length} characters, more than ${max}`);
  return problems;
}

function checkAnswer(operations: Map<string, Operation>, request: Pick<CapturedRequest, 'method' | 'url'>, answer: CapturedAnswer, run: Run, runRef: (ref: string, value: unknown, where: string) => string[]): string[] {
  const { operation, path } = findOperation(operations, request.method, request.url);
  const subject = `${request.method} ${path} -> ${answer.status}`;
  const problems: string[] = [];
  const body = answer.body === '' ? undefined : parseJson(answer.body);
  if (answer.body !== '' && body === undefined) return [`${subject}: the body is not JSON`];
  if (body !== undefined && !/^application\/json\b/.test(answer.headers['content-type'] ?? '')) problems.push(`${subject}: Content-Type is not application/json`);
  const declared = operation?.responses[String(answer.status)];
  if (declared !== undefined) {
    if (body === undefined) return [...problems, `${subject}: the description declares a body, and there is none`];
    return [...problems, ...run(declared, body, `${subject} body`)];
  }
  // Statuses the description does not list: the shapes README.md documents.
  if (answer.status === 401 || answer.status === 403) return [...problems, ...(body === undefined ? [`${subject}: no problem body`] : runRef('xero-problem', body, `${subject} problem body`))];
  if (answer.status === 429) {
    if (!/^\d+$/.test(answer.headers['retry-after'] ?? '')) problems.push(`${subject}: no Retry-After in seconds`);
    if (!RATE_LIMIT_PROBLEMS.has(answer.headers['x-rate-limit-problem'] ?? '')) problems.push(`${subject}: X-Rate-Limit-Problem is not one of ${[...RATE_LIMIT_PROBLEMS].join(', ')}`);
    return problems;
  }
  if (answer.status === 404 || answer.status >= 500 || answer.status === 400) {
    return [...problems, ...(body === undefined ? [] : runRef('xero-answer#/definitions/Error', body, `${subject} error body`))];
  }
  return [...problems, `${subject}: the status is neither in the description nor among the documented extensions`];
}

function moneyFields(schemas: Record<string, Json>, root: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name) || !Object.hasOwn(schemas, name)) return;
    seen.add(name);
    const walk = (node: unknown, owner: string, member?: string) => {
      if (node === null || typeof node !== 'object') return;
      const schema = node as Json;
      if (typeof schema.$ref === 'string') return visit(schema.$ref.replace('#/components/schemas/', ''));
      if (member !== undefined && schema.type === 'number') found.push(`${owner}.${member} (number, ${String(schema.format ?? 'no format')})`);
      for (const [child, value] of Object.entries((schema.properties ?? {}) as Json)) walk(value, owner, child);
      if (schema.items !== undefined) walk(schema.items, owner, member);
    };
    walk(schemas[name], name);
  };
  visit(root);
  return found.sort();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeError(error: ErrorObject): string {
  const at = error.instancePath === '' ? '(root)' : error.instancePath;
  if (error.keyword === 'additionalProperties') return `${at} has member ${(error.params as { additionalProperty: string }).additionalProperty}, which the schema does not declare`;
  return `${at} ${error.message ?? error.keyword}`;
}
