// A session in another process's user and mount namespaces: the owner of a
// path as that namespace sees it and as the host sees it, and its mounts.
//   node examples/enter.js PID [PATH]
//   node examples/enter.js $(cat $XDG_RUNTIME_DIR/libpod/tmp/pause.pid) ~/.local/share/containers/storage
'use strict';
const { enter } = require('unshare-fs');

async function main() {
  const pid = Number(process.argv[2]);
  const target = process.argv[3] || '/';
  const session = await enter({ pid }); // or { pidFile: '/run/user/1000/libpod/tmp/pause.pid' }
  try {
    const st = await session.lstat(target);
    console.log(`${target}: uid ${st.uid} in the namespace, ${st.hostUid} on the host`);
    console.log(`${(await session.mounts()).length} mounts in its mount namespace`);
  } finally {
    await session.close();
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
