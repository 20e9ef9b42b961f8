// native_tool.mjs - finds (or builds) one of the C++ core's command-line tools
// (src/tools: sam_preprocess, sam_coco, ...) for the Node scripts that drive them.
//   const exe = find_native_tool('sam_coco', 'SAM_COCO');  // absolute path
// $ENV_VAR names a build to use; else build/native/NAME (what scripts/test builds),
// else the newest build/*/NAME; else it is built in build/native with cmake.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function find_native_tool(name, env_var, { build = true } = {}) {
    const env = process.env[env_var];
    if (env) {
        if (!fs.existsSync(env)) throw new Error(`${env_var}=${env} does not exist`);
        return env;
    }
    const candidates = [];
    const build_dir = path.join(repo, 'build');
    for (const d of fs.existsSync(build_dir) ? fs.readdirSync(build_dir) : []) {
        const p = path.join(build_dir, d, name);
        const st = fs.statSync(p, { throwIfNoEntry: false });
        if (st && st.isFile()) candidates.push({ p, mtime: st.mtimeMs, native: d === 'native' });
    }
    candidates.sort((a, b) => (b.native - a.native) || (b.mtime - a.mtime));
    if (candidates.length) return candidates[0].p;
    if (!build) throw new Error(`${name} not found: build it with cmake --build build/native --target ${name}`);
    const out = path.join(repo, 'build/native');
    for (const args of [['-S', repo, '-B', out, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release'], ['--build', out, '--target', name]]) {
        const r = spawnSync('cmake', args, { stdio: ['ignore', 'ignore', 'inherit'] });
        if (r.status !== 0) throw new Error(`building ${name} failed (cmake ${args.join(' ')})`);
    }
    return path.join(out, name);
}
