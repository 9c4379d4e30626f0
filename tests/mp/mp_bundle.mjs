// Runs a Python script on the official MicroPython WebAssembly port against
// directories copied into the interpreter's in-memory filesystem.
//
// usage: node tests/mp/mp_bundle.mjs SCRIPT.py HOST_DIR:MP_DIR [HOST_DIR:MP_DIR ...]
//
// Every file under each HOST_DIR (any extension: .mpy, .py, .json) is copied to
// MP_DIR, so a deploy bundle can be mounted exactly as it would sit on a board's
// flash.  The script's output goes to stdout; a Python exception prints
// "@@MPFATAL <message>" on stderr and exits 1.  Environment: MP_HEAP (bytes,
// default 4 MiB).
import fs from "node:fs";
import path from "node:path";

const [script, ...mounts] = process.argv.slice(2);
if (!script) {
  console.error("usage: node mp_bundle.mjs SCRIPT.py HOST_DIR:MP_DIR [...]");
  process.exit(2);
}

let loadMicroPython;
try {
  ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
} catch (e) {
  console.error("@@MPFATAL MicroPython WebAssembly port not installed: run 'npm ci' in the repository root (tools/setup.sh does it)");
  process.exit(3);
}

function copyTree(mp, hostDir, mpDir) {
  mp.FS.mkdirTree(mpDir);
  for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const h = path.join(hostDir, ent.name);
    const m = mpDir + "/" + ent.name;
    if (ent.isDirectory()) {
      if (ent.name !== "__pycache__") copyTree(mp, h, m);
    } else {
      mp.FS.writeFile(m, fs.readFileSync(h));
    }
  }
}

const heap = parseInt(process.env.MP_HEAP || String(4 * 1024 * 1024), 10);
const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
  linebuffer: true,
});
for (const spec of mounts) {
  const i = spec.lastIndexOf(":");
  if (i <= 0) {
    console.error("bad mount (want HOST_DIR:MP_DIR): " + spec);
    process.exit(2);
  }
  copyTree(mp, spec.slice(0, i), spec.slice(i + 1));
}
try {
  mp.runPython(fs.readFileSync(script, "utf8"));
} catch (e) {
  console.error("@@MPFATAL " + (e.message || String(e)));
  process.exit(1);
}
