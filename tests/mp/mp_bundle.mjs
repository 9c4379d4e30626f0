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
import { startMicroPython, copyTree, runOrDie } from "./mpfs.mjs";

const [script, ...mounts] = process.argv.slice(2);
if (!script) {
  console.error("usage: node mp_bundle.mjs SCRIPT.py HOST_DIR:MP_DIR [...]");
  process.exit(2);
}

const mp = await startMicroPython();
for (const spec of mounts) {
  const i = spec.lastIndexOf(":");
  if (i <= 0) {
    console.error("bad mount (want HOST_DIR:MP_DIR): " + spec);
    process.exit(2);
  }
  copyTree(mp, spec.slice(0, i), spec.slice(i + 1));
}
runOrDie(mp, fs.readFileSync(script, "utf8"));
