// memlab's leak detection over three dumps (@memlab/api
// findLeaksBySnapshotFilePaths, as `memlab find-leaks --baseline B
// --target T --final F`): objects made between baseline and target (ids
// not in baseline) that final still holds.  memlab's built-in filter looks
// for detached DOM and React nodes only, so the leak filter here takes
// every such object (as `memlab find-leaks --leak-filter` with a filter
// file returning true would).  Prints as JSON the traces memlab reports,
// the names along each.
// Usage: node findleaks.js BASELINE TARGET FINAL WORKDIR
'use strict';
const api = require('@memlab/api');

async function main() {
  const [b, t, f, workDir] = process.argv.slice(2);
  require('@memlab/core').config.externalLeakFilter = { leakFilter: () => true };
  const leaks = await api.findLeaksBySnapshotFilePaths(b, t, f, { workDir: workDir, consoleMode: 'SILENT' });
  // each trace is an object whose keys, in order, are the hops from the
  // root: "N: --EDGE (TYPE)--->  [NAME](NODETYPE) @ID ..."
  const out = { traces: leaks.length, paths: [] };
  for (const leak of leaks) {
    const hops = [];
    for (const key of Object.keys(leak)) {
      const m = /^\d+: +(?:--(.*?) \((\w+)\)---> +)?\[(.*?)\]\((\w+)\) @(\d+)/.exec(key);
      if (m) hops.push({ edge: m[1] || null, edge_type: m[2] || null, name: m[3], type: m[4], id: Number(m[5]) });
    }
    out.paths.push(hops);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
