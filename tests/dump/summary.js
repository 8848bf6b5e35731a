// Reads a .heapsnapshot with JSON.parse and prints what the tests check,
// as JSON: node counts and self sizes per name, the root's groups, and
// for nodes picked by id their edges.  A pick PATH:G>a>b follows from the
// root the group named G, then the edges named a, b (first match); a
// pick IDS:NAME lists the ids of the nodes named NAME.
// Usage: node summary.js FILE [ID|PATH:...]
'use strict';
const fs = require('fs');
const snap = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const meta = snap.snapshot.meta;
const nf = meta.node_fields.length, ef = meta.edge_fields.length;
const F = (name) => meta.node_fields.indexOf(name);
const E = (name) => meta.edge_fields.indexOf(name);
const [fType, fName, fId, fSize, fEdges] = ['type', 'name', 'id', 'self_size', 'edge_count'].map(F);
const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map(E);
const ntypes = meta.node_types[0], etypes = meta.edge_types[0];
const nodes = snap.nodes, edges = snap.edges, strings = snap.strings;
const n = nodes.length / nf;
const out = { keys: Object.keys(snap), snapshot_keys: Object.keys(snap.snapshot),
  node_count: n, edge_count: edges.length / ef, types: {}, node_types: {}, groups: [], picked: {},
  ids_unique: true, max_id: 0, strings: strings.length, strings_unique: new Set(strings).size === strings.length };
const firstEdge = new Uint32Array(n + 1);
for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i] + nodes[i * nf + fEdges] * ef;
if (firstEdge[n] !== edges.length) throw new Error('edge_count sum ' + firstEdge[n] + ' != ' + edges.length);
const ids = new Set();
const want = new Set(process.argv.slice(3).filter((a) => !/^(PATH|IDS):/.test(a)).map(Number));
// IDS:NAME: the ids of every node named NAME, sorted
out.ids = {};
for (const a of process.argv.slice(3).filter((a) => a.startsWith('IDS:'))) out.ids[a.slice(4)] = [];
const edgeList = (i) => {
  const r = [];
  for (let e = firstEdge[i]; e < firstEdge[i + 1]; e += ef) {
    const t = etypes[edges[e + eType]];
    const to = edges[e + eTo];
    if (to % nf !== 0 || to / nf >= n) throw new Error('bad to_node ' + to);
    const name = (t === 'element' || t === 'hidden') ? edges[e + eName] : strings[edges[e + eName]];
    r.push({ type: t, name: name, to_id: nodes[to + fId], to_name: strings[nodes[to + fName]] });
  }
  return r;
};
for (let i = 0; i < n; i++) {
  const b = i * nf, name = strings[nodes[b + fName]], id = nodes[b + fId];
  if (ids.has(id)) out.ids_unique = false;
  ids.add(id);
  if (id > out.max_id) out.max_id = id;
  if (i > 0 && ntypes[nodes[b + fType]] !== 'synthetic') {
    const t = out.types[name] || (out.types[name] = { count: 0, bytes: 0 });
    t.count++; t.bytes += nodes[b + fSize];
    const k = name + ' ' + ntypes[nodes[b + fType]];
    out.node_types[k] = (out.node_types[k] || 0) + 1;
  }
  if (out.ids[name]) out.ids[name].push(id);
  if (want.has(id)) out.picked[id] = { name: name, type: ntypes[nodes[b + fType]], edges: edgeList(i) };
}
for (const k of Object.keys(out.ids)) out.ids[k].sort((a, b) => a - b);
out.paths = {};
for (const a of process.argv.slice(3).filter((a) => a.startsWith('PATH:'))) {
  const parts = a.slice(5).split('>');
  let at = -1;
  for (let e = firstEdge[0]; e < firstEdge[1]; e += ef)
    if (strings[nodes[edges[e + eTo] + fName]] === parts[0]) at = edges[e + eTo] / nf;
  const hops = [];
  for (const part of parts.slice(1)) {
    if (at < 0) break;
    const next = edgeList(at).find((x) => String(x.name) === part);
    hops.push(next ? { type: next.type, name: next.name, to_name: next.to_name } : null);
    at = -1;
    if (next) for (let i = 0; i < n; i++) if (nodes[i * nf + fId] === next.to_id) { at = i; break; }
  }
  out.paths[a] = at < 0 ? null : { id: nodes[at * nf + fId], name: strings[nodes[at * nf + fName]], hops: hops, edges: edgeList(at).slice(0, 20) };
}
// nodes no chain of non-weak edges leads to from node 0: DevTools leaves
// them out of its views
{
  const seen = new Uint8Array(n), queue = [0];
  seen[0] = 1;
  while (queue.length) {
    const v = queue.pop();
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += ef) {
      const to = edges[e + eTo] / nf;
      if (etypes[edges[e + eType]] !== 'weak' && !seen[to]) { seen[to] = 1; queue.push(to); }
    }
  }
  out.unreachable = n - seen.reduce((a, b) => a + b, 0);
}
out.root = { name: strings[nodes[fName]], id: nodes[fId], type: ntypes[nodes[fType]] };
// the groups: the root's synthetic children (nodes 1..); its shortcut
// edges lead to the modules
for (const e of edgeList(0)) if (e.type !== 'shortcut') out.groups.push({ name: e.to_name, id: e.to_id });
out.shortcuts = edgeList(0).filter((e) => e.type === 'shortcut').map((e) => e.name);
out.group_edges = {};
for (let i = 1; i <= out.groups.length; i++)
  out.group_edges[strings[nodes[i * nf + fName]]] = edgeList(i).slice(0, 2000);
process.stdout.write(JSON.stringify(out) + '\n');
