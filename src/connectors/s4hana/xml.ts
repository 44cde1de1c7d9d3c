/**
 * The XML plumbing every part of the S/4HANA connector shares: one parser and one builder
 * configuration, the SOAP 1.1 envelope, and checked reads from parsed XML. Every value is read as
 * a string (no number parsing), so amounts, document numbers with leading zeros and message IDs
 * keep exactly the characters S/4HANA sent.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** The namespace of the Journal Entry SOAP messages (api-contracts.md section 2, [S]). */
export const SFIN_NAMESPACE = 'http://sap.com/xi/SAPSCORE/SFIN';
export const SOAP_ENVELOPE_NAMESPACE = 'http://schemas.xmlsoap.org/soap/envelope/';

/** A parsed element: child elements by local name, attributes as `@_name`, text as `#text`. */
export type XmlNode = Record<string, unknown>;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false, trimValues: true });
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', format: true, suppressEmptyNode: false });

/** Renders a node tree (keys in document order) as an XML document with its declaration. */
export function renderXml(root: XmlNode): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n${builder.build(root)}`;
}

/** Renders one element without a declaration, e.g. to keep the part of an answer that concerns one document. */
export function renderFragment(name: string, node: unknown): string {
  return builder.build({ [name]: node });
}

/** A SOAP 1.1 envelope around one body element of the SFIN namespace (children unqualified, as SAP's schema has them). */
export function soapEnvelope(bodyElement: string, content: XmlNode, prefixes: { readonly soap: string; readonly sfin: string } = { soap: 'soapenv', sfin: 'sfin' }): string {
  return renderXml({
    [`${prefixes.soap}:Envelope`]: {
      [`@_xmlns:${prefixes.soap}`]: SOAP_ENVELOPE_NAMESPACE,
      [`${prefixes.soap}:Header`]: '',
      [`${prefixes.soap}:Body`]: { [`${prefixes.sfin}:${bodyElement}`]: { [`@_xmlns:${prefixes.sfin}`]: SFIN_NAMESPACE, ...content } },
    },
  });
}

/** The one element inside a SOAP body: its local name, its namespace and its content with unprefixed keys. */
export interface SoapBody {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly element: XmlNode;
}

/** Reads a SOAP 1.1 envelope; a string says why the text is not one. Never throws. */
export function readSoapBody(text: string): SoapBody | string {
  if (text.trim() === '') return 'the body is empty';
  const valid = XMLValidator.validate(text);
  if (valid !== true) return `the body is not well-formed XML (${valid.err.msg} at line ${valid.err.line})`;
  let document: XmlNode;
  try {
    document = parser.parse(text) as XmlNode;
  } catch (error) {
    return `the body cannot be parsed as XML (${String(error)})`;
  }
  const scopes: XmlNode[] = [];
  const envelope = childByLocalName(document, 'Envelope');
  if (!envelope || namespaceOf(envelope.key, [envelope.node]) !== SOAP_ENVELOPE_NAMESPACE) return 'the body is not a SOAP 1.1 envelope';
  scopes.unshift(envelope.node);
  const body = childByLocalName(envelope.node, 'Body');
  if (!body || typeof body.node !== 'object') return 'the SOAP envelope has no Body';
  scopes.unshift(body.node);
  const elements = Object.keys(body.node).filter((key) => !key.startsWith('@_') && key !== '#text');
  if (elements.length !== 1) return `the SOAP Body holds ${elements.length} elements instead of one`;
  const key = elements[0];
  const raw = body.node[key];
  const element = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as XmlNode) : {};
  return { name: localName(key), namespace: namespaceOf(key, [element, ...scopes]), element: stripPrefixes(element) as XmlNode };
}

/** Reads a whole non-SOAP XML document (e.g. an answer a gateway sent instead of SOAP); undefined when it is not XML. */
export function parseXml(text: string): XmlNode | undefined {
  if (XMLValidator.validate(text) !== true) return undefined;
  try {
    return stripPrefixes(parser.parse(text)) as XmlNode;
  } catch {
    return undefined;
  }
}

function childByLocalName(node: XmlNode, name: string): { key: string; node: XmlNode } | undefined {
  const key = Object.keys(node).find((k) => localName(k) === name && !k.startsWith('@_'));
  if (key === undefined) return undefined;
  const child = node[key];
  return { key, node: typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as XmlNode) : {} };
}

function localName(key: string): string {
  return key.slice(key.indexOf(':') + 1);
}

/** The namespace of a qualified name, looked up through the xmlns declarations in scope (innermost first). */
function namespaceOf(key: string, scopes: readonly XmlNode[]): string | undefined {
  const colon = key.indexOf(':');
  const attribute = colon < 0 ? '@_xmlns' : `@_xmlns:${key.slice(0, colon)}`;
  for (const scope of scopes) {
    const value = scope[attribute];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

/** Drops namespace prefixes from element names and xmlns declarations from attributes, recursively. */
function stripPrefixes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripPrefixes);
  if (typeof value !== 'object' || value === null) return value;
  const result: XmlNode = {};
  for (const [key, child] of Object.entries(value as XmlNode)) {
    if (key === '@_xmlns' || key.startsWith('@_xmlns:')) continue;
    const name = key.startsWith('@_') || key === '#text' ? key : localName(key);
    result[name] = stripPrefixes(child);
  }
  return result;
}

/** One or more elements of a name as an array (the parser gives a single element as an object). */
export function elements(node: XmlNode | undefined, name: string): XmlNode[] {
  const value = node?.[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (typeof item === 'object' && item !== null ? (item as XmlNode) : { '#text': item === '' ? '' : String(item) }));
}

export function element(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return elements(node, name)[0];
}

/** The text of a child element; '' when it is empty; undefined when it is absent. */
export function text(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[name];
  if (value === undefined) return undefined;
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first;
  if (typeof first === 'object' && first !== null) {
    const inner = (first as XmlNode)['#text'];
    return typeof inner === 'string' ? inner : inner === undefined ? '' : String(inner);
  }
  return String(first);
}

export function attribute(node: XmlNode | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}
