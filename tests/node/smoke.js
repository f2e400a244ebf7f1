const { MilvusClient, DataType } = require('@zilliz/milvus2-sdk-node');
(async () => {
  const addr = process.argv[2];
  const c = new MilvusClient({ address: addr });
  const name = 'node_smoke';
  const dim = 8;
  const check = (r, what) => { const s = r.status || r; if (s.error_code !== 'Success' && s.code !== 0) { throw new Error(what + ': ' + JSON.stringify(s)); } };
  check(await c.createCollection({ collection_name: name, dimension: dim, metric_type: 'L2', enable_dynamic_field: true }), 'create');
  const rows = [];
  for (let i = 0; i < 100; i++) rows.push({ id: i, vector: Array.from({ length: dim }, (_, j) => i + j / 10), color: i % 2 ? 'red' : 'blue' });
  const ins = await c.insert({ collection_name: name, data: rows });
  check(ins, 'insert');
  console.log('inserted', ins.insert_cnt);
  await c.loadCollectionSync({ collection_name: name }).catch(() => {});
  const st = await c.getLoadState({ collection_name: name });
  console.log('load state', st.state);
  // Milvus 2.6 returns the primary key column only when output_fields names it
  // (translateOutputFields), and this SDK reads `id` from that column.
  const sr = await c.search({ collection_name: name, data: [rows[42].vector], limit: 3, output_fields: ['id', 'color'], consistency_level: 'Strong' });
  check(sr, 'search');
  console.log('search', JSON.stringify(sr.results.slice(0, 3)));
  if (String(sr.results[0].id) !== '42') throw new Error('search did not find 42 first');
  const q = await c.query({ collection_name: name, filter: 'color == "red" and id < 10', output_fields: ['id', 'color'], consistency_level: 'Strong' });
  check(q, 'query');
  console.log('query', q.data.length);
  if (q.data.length !== 5) throw new Error('query returned ' + q.data.length);
  const d = await c.delete({ collection_name: name, filter: 'id in [1,3]' });
  check(d, 'delete');
  const cnt = await c.count({ collection_name: name, expr: 'id < 10' });
  console.log('count', JSON.stringify(cnt.data));
  check(await c.dropCollection({ collection_name: name }), 'drop');
  console.log('NODE SDK OK');
})().catch(e => { console.error('FAILED', e.message || e); process.exit(1); });
