// Regressions found by running the Node SDK's own jest suites against
// Milvago (tests/node/run-sdk-suite.sh); run by tests/e2e/node_regress_test.go.
//   node sdk_regress.js HOST:PORT
const { MilvusClient, HttpClient, DataType } = require('@zilliz/milvus2-sdk-node');

const fail = (what, got) => { throw new Error(what + ': ' + JSON.stringify(got)); };
const ok = (r, what) => { const s = r.status || r; if (s.error_code !== 'Success') fail(what, s); return r; };
const wantErr = (r, what, legacy, fragment) => {
  const s = r.status || r;
  if (s.error_code !== legacy || !String(s.reason).includes(fragment)) fail(what + ' (want ' + legacy + ' "' + fragment + '")', s);
};

(async () => {
  const addr = process.argv[2];
  const c = new MilvusClient({ address: addr });
  const dim = 4;
  const vec = i => [1, 2, 3, i];
  for (const n of ['node_regress_schema', 'node_regress_pkey', 'node_regress_http']) {
    await c.dropCollection({ collection_name: n }); // leftovers of an earlier failed run
  }

  // 1. An insert after a property change: the SDK sends the schema timestamp
  // it cached; the server answers SchemaMismatch (legacy error_code 62), on
  // which the SDK describes the collection again and redoes the insert.
  const sm = 'node_regress_schema';
  ok(await c.createCollection({ collection_name: sm, fields: [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'vector', data_type: DataType.FloatVector, dim },
    { name: 'f', data_type: DataType.Float },
  ] }), 'create ' + sm);
  ok((await c.insert({ collection_name: sm, fields_data: [{ id: 1, vector: vec(1), f: 1 }] })), 'first insert');
  ok(await c.alterCollectionProperties({ collection_name: sm, properties: { 'mmap.enabled': true } }), 'alter');
  ok(await c.insert({ collection_name: sm, fields_data: [{ id: 2, vector: vec(2), f: 2 }] }), 'insert after alter');
  ok(await c.createIndex({ collection_name: sm, field_name: 'vector', index_type: 'FLAT', metric_type: 'L2' }), 'index');
  ok(await c.loadCollectionSync({ collection_name: sm }), 'load');
  const q = ok(await c.query({ collection_name: sm, filter: 'id > 0', output_fields: ['id'], consistency_level: 'Strong' }), 'query');
  if (q.data.length !== 2) fail('rows after the redone insert', q.data);
  ok(await c.dropCollection({ collection_name: sm }), 'drop ' + sm);
  console.log('schema mismatch retry ok');

  // 2. Partition-key collections: Milvus 2.6's errors for hand-made partitions
  // and partition names in reads (the SDK's PartitionKey suite checks them).
  const pk = 'node_regress_pkey';
  ok(await c.createCollection({ collection_name: pk, num_partitions: 3, fields: [
    { name: 'id', data_type: DataType.Int64, is_primary_key: true },
    { name: 'vector', data_type: DataType.FloatVector, dim },
    { name: 'tenant', data_type: DataType.VarChar, max_length: 16, is_partition_key: true },
  ] }), 'create ' + pk);
  const rows = [];
  for (let i = 1; i <= 20; i++) rows.push({ id: i, vector: vec(i), tenant: i % 2 ? 'apple' : 'pear' });
  ok(await c.insert({ collection_name: pk, fields_data: rows }), 'insert ' + pk);
  ok(await c.createIndex({ collection_name: pk, field_name: 'vector', index_type: 'IVF_FLAT', metric_type: 'L2', params: { nlist: 16 } }), 'index ' + pk);
  ok(await c.loadCollectionSync({ collection_name: pk }), 'load ' + pk);
  wantErr(await c.createPartition({ collection_name: pk, partition_name: 'p' }), 'create partition',
    'UnexpectedError', 'disable create partition if partition key mode is used');
  wantErr(await c.query({ collection_name: pk, partition_names: ['p'], filter: 'tenant in ["apple"]' }), 'query with partitions',
    'IllegalArgument', 'not support manually specifying the partition names');
  wantErr(await c.search({ collection_name: pk, partition_names: ['p'], data: vec(1), filter: 'tenant in ["apple"]' }), 'search with partitions',
    'UnexpectedError', 'not support manually specifying the partition names');
  const pq = ok(await c.query({ collection_name: pk, filter: 'tenant in ["apple"]', output_fields: ['tenant'], consistency_level: 'Strong' }), 'query ' + pk);
  if (pq.data.length !== 10 || pq.data.some(r => r.tenant !== 'apple')) fail('partition-key query', pq.data);
  ok(await c.dropCollection({ collection_name: pk }), 'drop ' + pk);
  console.log('partition key errors ok');

  // 3. REST v2 through the SDK's HttpClient: a search with one query vector
  // answers a flat list, with several a list per query.
  const h = new HttpClient({ endpoint: 'http://' + addr });
  const hc = 'node_regress_http';
  const okh = (r, what) => { if (r.code !== 0) fail(what, r); return r; };
  okh(await h.createCollection({ collectionName: hc, dimension: dim, metricType: 'L2' }), 'http create');
  const hrows = [];
  for (let i = 1; i <= 10; i++) hrows.push({ id: i, vector: vec(i), color: i % 2 ? 'red' : 'blue' });
  const ins = okh(await h.insert({ collectionName: hc, data: hrows }), 'http insert');
  if (ins.data.insertCount !== 10) fail('http insertCount', ins.data);
  const s1 = okh(await h.search({ collectionName: hc, data: [vec(3)], limit: 5, outputFields: ['*'], consistencyLevel: 'Strong' }), 'http search');
  if (s1.data.length !== 5 || Array.isArray(s1.data[0]) || String(s1.data[0].id) !== '3' || s1.data[0].color !== 'red' || typeof s1.data[0].distance !== 'number') fail('http search nq=1', s1.data);
  const s2 = okh(await h.search({ collectionName: hc, data: [vec(3), vec(8)], limit: 2, outputFields: ['id'], consistencyLevel: 'Strong' }), 'http search nq=2');
  if (s2.data.length !== 2 || !Array.isArray(s2.data[0]) || String(s2.data[1][0].id) !== '8') fail('http search nq=2', s2.data);
  okh(await h.dropCollection({ collectionName: hc }), 'http drop');
  console.log('rest v2 ok');
  console.log('NODE SDK REGRESS OK');
})().catch(e => { console.error('FAILED', e.message || e); process.exit(1); });
