// A bounded soak of scripts/serve (the 60 s run is `scripts/soak`): concurrent small
// GETs, full and dropped downloads, per-image PUTs with racing writers for 6 s; no error,
// every writer reads back what it stored, descriptors not above where they started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run_soak, soak_table } from '../../scripts/benchmark/soak_run.mjs';

test('soak: 6 s of concurrent reads, writes and dropped downloads', async () => {
    const r = await run_soak({ seconds: 6 });
    console.log(soak_table(r));
    assert.deepEqual(r.errors, []);
    for (const k of ['get', 'put', 'download', 'dropped']) assert.ok(r.counts[k] > 0, `no ${k} requests ran`);
    assert.ok(r.counts.conflict > 0, 'the racing writers never met a 409');
    assert.ok(r.descriptors.after <= r.descriptors.before + 2, `descriptors ${r.descriptors.before} -> ${r.descriptors.after}`);
});
