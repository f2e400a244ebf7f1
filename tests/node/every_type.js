// every_type.js ADDR write|read: the every-type fixture (tests/e2e
// TestEveryTypeFixture's schema, plus a struct array, nullable and
// default fields) inserted with the Node SDK's row-based insert and its
// default encodings, read back value by value and searched. "write"
// creates, inserts, indexes, loads and checks; "read" (after a restart)
// loads and checks again.
const { MilvusClient, DataType } = require('@zilliz/milvus2-sdk-node');
const name = 'node_every_type';
const n = 12;

const fields = [
  { name: 'id', data_type: DataType.Int64, is_primary_key: true },
  { name: 'b', data_type: DataType.Bool },
  { name: 'i8', data_type: DataType.Int8 },
  { name: 'i16', data_type: DataType.Int16 },
  { name: 'i32', data_type: DataType.Int32 },
  { name: 'i64', data_type: DataType.Int64 },
  { name: 'fl', data_type: DataType.Float },
  { name: 'db', data_type: DataType.Double },
  { name: 's', data_type: DataType.VarChar, max_length: 64 },
  { name: 'j', data_type: DataType.JSON },
  { name: 'ai', data_type: DataType.Array, element_type: DataType.Int64, max_capacity: 4 },
  { name: 'as', data_type: DataType.Array, element_type: DataType.VarChar, max_capacity: 4, max_length: 16 },
  { name: 'g', data_type: DataType.Geometry },
  { name: 'ts', data_type: DataType.Timestamptz },
  { name: 'n32', data_type: DataType.Int32, nullable: true },
  { name: 'ds', data_type: DataType.VarChar, max_length: 16, default_value: 'dflt' },
  { name: 'fv', data_type: DataType.FloatVector, dim: 4 },
  { name: 'bv', data_type: DataType.BinaryVector, dim: 16 },
  { name: 'hv', data_type: DataType.Float16Vector, dim: 4 },
  { name: 'bfv', data_type: DataType.BFloat16Vector, dim: 4 },
  { name: 'iv', data_type: DataType.Int8Vector, dim: 4 },
  { name: 'sp', data_type: DataType.SparseFloatVector },
  { name: 'st', data_type: DataType.Array, element_type: DataType.Struct, max_capacity: 2, fields: [
    { name: 'st_i', data_type: DataType.Int32 },
    { name: 'st_s', data_type: DataType.VarChar, max_length: 16 },
  ] },
];

const base = Date.UTC(2025, 2, 1, 12);
function row(i) {
  const r = {
    id: i, b: i % 2 === 0, i8: i - 10, i16: 1000 * i, i32: -70000 * i, i64: i * 1099511627776,
    fl: i / 4, db: i * 1.5e10, s: 'str-' + i, j: { k: i, tags: ['t' + (i % 3)] },
    ai: [i, 2 * i].slice(0, 1 + (i % 2)), as: ['a' + i], g: `POINT (${i} ${-i})`,
    ts: new Date(base + i * 3600e3).toISOString(),
    fv: [i, 0.5, -1, 2], bv: [i, 255 - i], hv: [i, 0.5, -1, 2], bfv: [-i, 1, 0.25, 4], iv: [i, -1, 2, -i],
    sp: { [i]: 1, [i + 100]: 0.5 },
    st: [{ st_i: i, st_s: 'e' + i }],
    color: ['red', 'green', 'blue'][i % 3],
  };
  // Even rows leave the nullable field null and the default field unset.
  if (i % 2 === 1) { r.n32 = i; r.ds = 'set' + i; } else { r.n32 = null; }
  return r;
}

function ok(r, what) {
  const s = r.status || r;
  if (s.error_code !== 'Success' && s.code !== 0) throw new Error(what + ': ' + JSON.stringify(s));
  return r;
}

function eq(a, b, what) {
  const x = JSON.stringify(a), y = JSON.stringify(b);
  if (x !== y) throw new Error(`${what}: got ${x}, want ${y}`);
}

function near(a, b, what) {
  if (a.length !== b.length || a.some((v, k) => Math.abs(v - b[k]) > 1e-6)) throw new Error(`${what}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}

async function check(c, stage) {
  const q = ok(await c.query({ collection_name: name, filter: 'id >= 0', output_fields: ['*'], consistency_level: 'Strong', limit: 100 }), stage + ' query');
  if (q.data.length !== n) throw new Error(`${stage}: ${q.data.length} rows, want ${n}`);
  for (const got of q.data) {
    const i = Number(got.id), w = row(i), at = (f) => `${stage} row ${i} ${f}`;
    eq(got.b, w.b, at('b')); eq(Number(got.i8), w.i8, at('i8')); eq(Number(got.i16), w.i16, at('i16'));
    eq(Number(got.i32), w.i32, at('i32')); eq(String(got.i64), String(w.i64), at('i64'));
    eq(got.fl, w.fl, at('fl')); eq(got.db, w.db, at('db')); eq(got.s, w.s, at('s'));
    eq(got.j, w.j, at('j')); eq(got.ai.map(Number), w.ai, at('ai')); eq(got.as, w.as, at('as'));
    eq(String(got.g).replace(/\s+/g, ' '), w.g, at('g'));
    eq(new Date(got.ts).getTime(), new Date(w.ts).getTime(), at('ts'));
    eq(got.n32 === null || got.n32 === undefined ? null : Number(got.n32), w.n32 === undefined ? null : w.n32, at('n32'));
    eq(got.ds, w.ds === undefined ? 'dflt' : w.ds, at('ds'));
    near(got.fv, w.fv, at('fv')); eq(Array.from(got.bv), w.bv, at('bv'));
    near(Array.from(got.hv), w.hv, at('hv')); near(Array.from(got.bfv), w.bfv, at('bfv'));
    // The SDK decodes an int8 vector with Array.from over its bytes: each
    // element reads back as its unsigned byte.
    eq(Array.from(got.iv), w.iv.map((v) => v & 0xff), at('iv'));
    const sp = {}; for (const [k, v] of Object.entries(got.sp)) sp[String(k)] = v;
    eq(sp, w.sp, at('sp'));
    eq(got.st.map((e) => ({ st_i: Number(e.st_i), st_s: e.st_s })), w.st, at('st'));
    // The SDK's query keeps the dynamic field as $meta (it does not spread
    // it over the row for output_fields ['*']).
    eq(got.$meta, { color: w.color }, at('$meta (dynamic)'));
  }
  // One search per vector field finds the row whose vector it is.
  for (const [f, v] of [['fv', row(7).fv], ['bv', row(7).bv], ['hv', row(7).hv], ['iv', row(7).iv], ['sp', row(7).sp]]) {
    const sr = ok(await c.search({ collection_name: name, anns_field: f, data: [v], limit: 1, output_fields: ['id'], consistency_level: 'Strong' }), `${stage} search ${f}`);
    if (String(sr.results[0].id) !== '7') throw new Error(`${stage}: search ${f} found ${JSON.stringify(sr.results)}`);
  }
  console.log(stage, 'checked', n, 'rows');
}

(async () => {
  const [addr, mode] = process.argv.slice(2);
  const c = new MilvusClient({ address: addr });
  if (mode === 'write') {
    ok(await c.createCollection({ collection_name: name, fields, enable_dynamic_field: true }), 'create');
    const rows = Array.from({ length: n }, (_, i) => row(i));
    const ins = ok(await c.insert({ collection_name: name, data: rows }), 'insert');
    if (Number(ins.insert_cnt) !== n) throw new Error('inserted ' + ins.insert_cnt);
    ok(await c.flush({ collection_names: [name] }), 'flush');
    const idx = { fv: ['FLAT', 'L2'], bv: ['BIN_FLAT', 'HAMMING'], hv: ['FLAT', 'L2'], bfv: ['FLAT', 'IP'], iv: ['HNSW', 'L2'], sp: ['SPARSE_INVERTED_INDEX', 'IP'] };
    for (const [f, [t, m]] of Object.entries(idx)) {
      ok(await c.createIndex({ collection_name: name, field_name: f, index_type: t, metric_type: m, params: t === 'HNSW' ? { M: 8, efConstruction: 32 } : {} }), 'index ' + f);
    }
  }
  ok(await c.loadCollectionSync({ collection_name: name }), 'load');
  await check(c, mode);
  console.log('NODE EVERY TYPE OK');
})().catch((e) => { console.error('FAILED', e.message || e); process.exit(1); });
