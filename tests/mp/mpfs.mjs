// Shared by the MicroPython runners: start the official WebAssembly port and
// copy host directories into its in-memory filesystem.
import fs from "node:fs";
import path from "node:path";

export async function startMicroPython() {
  let loadMicroPython;
  try {
    ({ loadMicroPython } = await import("@micropython/micropython-webassembly-pyscript"));
  } catch (e) {
    console.error("@@MPFATAL MicroPython WebAssembly port not installed: run 'npm ci' in the repository root (tools/setup.sh does it)");
    process.exit(3);
  }
  const heap = parseInt(process.env.MP_HEAP || String(4 * 1024 * 1024), 10);
  return loadMicroPython({
    heapsize: heap,
    stdout: (line) => process.stdout.write(line + "\n"),
    stderr: (line) => process.stderr.write(line + "\n"),
    linebuffer: true,
  });
}

// Copy hostDir to mpDir; skipDirs: directory names left out; keep(name): which files.
export function copyTree(mp, hostDir, mpDir, skipDirs = new Set(["__pycache__"]), keep = () => true) {
  mp.FS.mkdirTree(mpDir);
  for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const h = path.join(hostDir, ent.name);
    const m = mpDir + "/" + ent.name;
    if (ent.isDirectory()) {
      if (!skipDirs.has(ent.name)) copyTree(mp, h, m, skipDirs, keep);
    } else if (keep(ent.name)) {
      mp.FS.writeFile(m, fs.readFileSync(h));
    }
  }
}

// Run code; a Python exception prints "@@MPFATAL <message>" and exits 1.
export function runOrDie(mp, code) {
  try {
    mp.runPython(code);
  } catch (e) {
    console.error("@@MPFATAL " + (e.message || String(e)));
    process.exit(1);
  }
}
