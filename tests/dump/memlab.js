// Loads a .heapsnapshot with memlab (@memlab/heap-analysis) and prints,
// as JSON: node counts and self sizes per name (synthetic nodes aside),
// and for each node id given its type, retained size, dominator and
// retainers as memlab computes them.  Usage: node memlab.js FILE [ID...]
// NODE_PATH must reach the memlab install.
'use strict';
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

async function main() {
  const heap = await getFullHeapFromFile(process.argv[2]);
  const out = { node_count: heap.nodes.length, edge_count: heap.edges.length, types: {}, picked: {} };
  heap.nodes.forEach((node) => {
    if (node.type === 'synthetic') return;
    const t = out.types[node.name] || (out.types[node.name] = { count: 0, bytes: 0 });
    t.count++;
    t.bytes += node.self_size;
  });
  for (const arg of process.argv.slice(3)) {
    const node = heap.getNodeById(Number(arg));
    if (!node) { out.picked[arg] = null; continue; }
    const dom = node.dominatorNode;
    out.picked[arg] = {
      name: node.name, type: node.type, self_size: node.self_size, retained_size: node.retainedSize,
      dominator: dom ? { id: dom.id, name: dom.name } : null,
      retainers: node.referrers.map((e) => ({ type: e.type, name: String(e.name_or_index), from_id: e.fromNode.id, from_name: e.fromNode.name })),
    };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
