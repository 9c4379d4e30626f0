// Runs MicroPython-side test modules on the official MicroPython WebAssembly port.
//
// usage: node tests/mp/mp_run.mjs ROOT MODULE [MODULE ...]
//        node tests/mp/mp_run.mjs ROOT --script FILE   (run FILE after the same set-up)
//
// The flight packages (payload/, bus/, hal/ without the desktop backend
// hal/emulated/) and the tests/ tree are copied into the interpreter's in-memory
// filesystem under /repo; tests/mp/mptest.py then imports each MODULE (dotted
// name), runs its test_* functions and prints one "@@MPTEST {json}" line per
// test.  Environment: MP_HEAP (bytes, default 4 MiB); MP_EXTRA=HOSTDIR mounts
// another directory at /extra (first on sys.path), for the harness's own tests.
import fs from "node:fs";
import path from "node:path";
import { startMicroPython, copyTree, runOrDie } from "./mpfs.mjs";

const [root, ...modules] = process.argv.slice(2);
if (!root || modules.length === 0) {
  console.error("usage: node mp_run.mjs ROOT MODULE [MODULE ...]");
  process.exit(2);
}

const MOUNTS = ["bus", "hal", "payload", "tests"];
const SKIP_DIRS = new Set(["emulated", "__pycache__", "node_modules"]);
const isSource = (name) => name.endsWith(".py") || name.endsWith(".mpy");

const mp = await startMicroPython();
for (const d of MOUNTS) copyTree(mp, path.join(root, d), "/repo/" + d, SKIP_DIRS, isSource);
if (process.env.MP_EXTRA) copyTree(mp, process.env.MP_EXTRA, "/extra", SKIP_DIRS, isSource);

const setup = `
import sys
sys.path.insert(0, '/repo')
sys.path.insert(0, '/repo/tests/mp')
sys.path.insert(0, '/extra')
`;
const code = modules[0] === "--script"
  ? setup + fs.readFileSync(modules[1], "utf8")
  : setup + `import mptest\nmptest.main(${JSON.stringify(modules)})\n`;
runOrDie(mp, code);
