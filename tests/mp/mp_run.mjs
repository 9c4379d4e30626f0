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

const [root, ...modules] = process.argv.slice(2);
if (!root || modules.length === 0) {
  console.error("usage: node mp_run.mjs ROOT MODULE [MODULE ...]");
  process.exit(2);
}

let loadMicroPython;
try {
  ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
} catch (e) {
  console.error("@@MPFATAL MicroPython WebAssembly port not installed: run 'npm ci' in the repository root (tools/setup.sh does it)");
  process.exit(3);
}

const MOUNTS = ["bus", "hal", "payload", "tests"];
const SKIP_DIRS = new Set(["emulated", "__pycache__", "node_modules"]);

function copyTree(mp, hostDir, mpDir) {
  mp.FS.mkdirTree(mpDir);
  for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const h = path.join(hostDir, ent.name);
    const m = mpDir + "/" + ent.name;
    if (ent.isDirectory()) {
      if (!SKIP_DIRS.has(ent.name)) copyTree(mp, h, m);
    } else if (ent.name.endsWith(".py") || ent.name.endsWith(".mpy")) {
      mp.FS.writeFile(m, fs.readFileSync(h));
    }
  }
}

const heap = parseInt(process.env.MP_HEAP || String(4 * 1024 * 1024), 10);
let out = "";
const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
  linebuffer: true,
});
for (const d of MOUNTS) copyTree(mp, path.join(root, d), "/repo/" + d);
if (process.env.MP_EXTRA) copyTree(mp, process.env.MP_EXTRA, "/extra");

const setup = `
import sys
sys.path.insert(0, '/repo')
sys.path.insert(0, '/repo/tests/mp')
sys.path.insert(0, '/extra')
`;
const code = modules[0] === "--script"
  ? setup + fs.readFileSync(modules[1], "utf8")
  : setup + `import mptest\nmptest.main(${JSON.stringify(modules)})\n`;
try {
  mp.runPython(code);
} catch (e) {
  console.error("@@MPFATAL " + (e.message || String(e)));
  process.exit(1);
}
