import * as ts from 'typescript';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSchema, TOPICS } from '../../schemas';

// Fails when schemas/types.ts drifts from the .avsc files: same fields, same types, same enums.
const typesFile = path.join(__dirname, '../../schemas/types.ts');
const src = ts.createSourceFile(typesFile, fs.readFileSync(typesFile, 'utf8'), ts.ScriptTarget.ES2022, true);

const interfaces = new Map<string, Map<string, string>>();
const aliases = new Map<string, string[]>();
src.forEachChild((n) => {
  if (ts.isInterfaceDeclaration(n)) {
    const props = new Map<string, string>();
    for (const m of n.members) {
      if (ts.isPropertySignature(m) && m.type) {
        const name = m.name.getText(src).replace(/^'|'$/g, '');
        props.set(name, m.type.getText(src).replace(/\s+/g, ' ') + (m.questionToken ? '?' : ''));
      }
    }
    interfaces.set(n.name.text, props);
  }
  if (ts.isTypeAliasDeclaration(n) && ts.isUnionTypeNode(n.type)) {
    aliases.set(
      n.name.text,
      n.type.types.filter(ts.isLiteralTypeNode).map((t) => (t.literal as ts.StringLiteral).text),
    );
  }
});

type AvroType = string | AvroType[] | { type: string; logicalType?: string; name?: string; symbols?: string[]; values?: AvroType; items?: AvroType };

function tsTypeOf(t: AvroType, enums: Array<{ name: string; symbols: string[] }>): string {
  if (typeof t === 'string') {
    if (t === 'string') return 'string';
    if (['int', 'long', 'float', 'double'].includes(t)) return 'number';
    if (t === 'boolean') return 'boolean';
    if (t === 'null') return 'null';
    throw new Error(`unmapped avro type ${t}`);
  }
  if (Array.isArray(t)) {
    const nonNull = t.filter((x) => x !== 'null');
    if (nonNull.length !== 1) throw new Error('only [null, X] unions are used');
    return `${tsTypeOf(nonNull[0], enums)} | null`;
  }
  if (t.type === 'enum') {
    enums.push({ name: t.name!, symbols: t.symbols! });
    return t.name!;
  }
  if (t.type === 'map') return `Record<string, ${tsTypeOf(t.values!, enums)}>`;
  if (t.type === 'array') return `${tsTypeOf(t.items!, enums)}[]`;
  return tsTypeOf(t.type, enums);
}

const recordsOfTopics = interfaces.get('TopicRecords')!;

describe.each(TOPICS.map((t) => [t]))('%s', (topic) => {
  const schema = loadSchema(topic) as { name: string; doc?: string; fields: Array<{ name: string; type: AvroType; doc?: string }> };

  it('is keyed in TopicRecords by the record named in its .avsc', () => {
    expect(recordsOfTopics.get(topic)).toBe(schema.name);
  });

  it('has the same fields, with the same types, as its TypeScript interface', () => {
    const enums: Array<{ name: string; symbols: string[] }> = [];
    const fromAvro = Object.fromEntries(schema.fields.map((f) => [f.name, tsTypeOf(f.type, enums)]));
    expect(Object.fromEntries(interfaces.get(schema.name)!)).toEqual(fromAvro);
    for (const e of enums) expect({ enum: e.name, symbols: aliases.get(e.name) }).toEqual({ enum: e.name, symbols: e.symbols });
  });

  it('documents the record and every field', () => {
    expect(schema.doc).toBeTruthy();
    for (const f of schema.fields) expect({ field: f.name, documented: Boolean(f.doc) }).toEqual({ field: f.name, documented: true });
  });

  it('carries eventId and a timestamp-millis timestamp', () => {
    const byName = new Map(schema.fields.map((f) => [f.name, f.type]));
    expect(byName.get('eventId')).toBe('string');
    expect(byName.get('timestamp')).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
  });
});
