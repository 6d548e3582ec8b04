// A walk that prunes in the walker: a project tree without its node_modules,
// .git, log files and top-level build dir (never opened, never listed),
// files only:
//   node examples/walk.js [DIR]
'use strict';
const { walk } = require('unshare-fs');

async function main() {
  const root = process.argv[2] || process.cwd();
  let files = 0;
  let bytes = 0;
  const entries = walk(root, {
    stat: true,
    exclude: ['node_modules', '.git', '*.log', '/build'],
    filter: (entry) => entry.isFile(),
  });
  for await (const entry of entries) {
    files++;
    bytes += entry.stats.size;
    console.log(entry.fullPath);
  }
  console.log(`${files} files, ${bytes} bytes`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
