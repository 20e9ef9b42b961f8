// export_coco.mjs - the COCO document of a dataset's annotation store, on stdout, for
// command-line tools (scripts/convert): the same export as GET /api/annotations/<name>,
// without its "version" key. Opening the store is what scripts/serve does at start
// (an annotations.json not yet imported is imported first).
//   node scripts/server/export_coco.mjs DATASET_DIR > coco.json
import path from 'node:path';
import { annotations_store } from './annotations_store.mjs';

const dir = process.argv[2];
if (!dir || process.argv.length > 3) {
    console.error('usage: node scripts/server/export_coco.mjs DATASET_DIR');
    process.exit(2);
}
let store;
try {
    store = await annotations_store.open(new Map([['dataset', path.resolve(dir)]]));
    for (const line of store.notices) console.error(line);
    const coco = JSON.parse(store.export_text('dataset').text.toString('utf8'));
    delete coco.version;
    process.stdout.write(JSON.stringify(coco));
} catch (err) {
    console.error(`${dir}: ${err.message || err}`);
    process.exitCode = 1;
} finally {
    await store?.close();
}
