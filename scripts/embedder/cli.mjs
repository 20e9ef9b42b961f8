// cli.mjs - command line of scripts/embed; see USAGE below.
import { run_embed, run_merge } from './embed_run.mjs';
import { BROWSER_ENCODER_MODES } from './dataset.mjs';

const USAGE = `usage: scripts/embed --encoder encoder.onnx --images DIR_OR_GLOB [--images ...] --out DATASET_DIR
                    [--decoder decoder.onnx] [--decoder-full decoder_full.onnx] [--model-id ID]
                    [--decoder-weights decoder.samw]
                    [--fp16 | --fp32] [--shard K/N] [--threads T] [--max-pixels N]
                    [--browser-encoder auto|yes|ask|no]
       scripts/embed --merge --out DATASET_DIR
  Writes DATASET_DIR/images/, embeddings/<stem>.npy ([1,256,64,64]) and manifest.json.
  A SAM 2.1 encoder (outputs image_embed, high_res_feats_0, high_res_feats_1) gets
  SAM 2's preprocessing and writes the three tensors per image, embeddings/<name>/<stem>.npy,
  into a version 2 manifest. Embeddings are float32 for SAM 1 and float16 for
  SAM 2.1 unless --fp16 / --fp32 says otherwise.
  The C++ decoder's weights (--decoder-weights, default: the decoder.samw beside
  --decoder when there is one) are copied in as decoder.samw; the manifest names it.
  Unchanged images (same image and encoder sha256) are skipped, so a killed run is
  resumed by running it again. --shard K/N embeds images i with i % N == K of the
  sorted list into manifest.shard-K-of-N.json; --merge combines the N shard files.
  Exit status: 0 when every image was embedded, 1 when some were bad (listed at
  the end), 2 for usage errors.
  --browser-encoder: auto (default) copies a SAM 1 encoder of at most 48 MiB into the
  dataset (encoder.onnx, "browser_encoder": true in the manifest) so the annotator can
  encode images without embeddings (and photos dropped on the static demo) itself; yes
  does so at any size; ask copies it undeclared (the annotator offers "encode in the
  browser (slow)"); no copies nothing.
  Preprocessing runs in the native tool sam_preprocess (C++ core); set
  SAM_PREPROCESS=/path/to/sam_preprocess to choose one, else build/*/ is searched
  and build/native is built when none exists.`;

function parse_args(argv) {
    const o = { images: [], threads: 0, fp16: undefined, merge: false, shard: null, max_pixels: 0 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
            return argv[++i];
        };
        if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
        else if (a === '--encoder') o.encoder = val();
        else if (a === '--images') o.images.push(val());
        else if (a === '--out') o.out = val();
        else if (a === '--decoder') o.decoder = val();
        else if (a === '--decoder-full') o.decoder_full = val();
        else if (a === '--decoder-weights') o.decoder_weights = val();
        else if (a === '--model-id') o.model_id = val();
        else if (a === '--browser-encoder') {
            o.browser_encoder = val();
            if (!BROWSER_ENCODER_MODES.includes(o.browser_encoder)) throw new Error(`--browser-encoder needs one of ${BROWSER_ENCODER_MODES.join(', ')}`);
        }
        else if (a === '--fp16') o.fp16 = true;
        else if (a === '--fp32') o.fp16 = false;
        else if (a === '--merge') o.merge = true;
        else if (a === '--threads') { o.threads = Number(val()); if (!Number.isInteger(o.threads) || o.threads < 0) throw new Error('--threads needs a whole number'); }
        else if (a === '--max-pixels') { o.max_pixels = Number(val()); if (!Number.isInteger(o.max_pixels) || o.max_pixels <= 0) throw new Error('--max-pixels needs a positive whole number'); }
        else if (a === '--shard') {
            const m = /^(\d+)\/(\d+)$/.exec(val());
            if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new Error('--shard needs K/N with 0 <= K < N, e.g. 0/4');
            o.shard = { k: Number(m[1]), n: Number(m[2]) };
        } else throw new Error(`unknown argument ${a}`);
    }
    if (!o.out) throw new Error('--out DATASET_DIR is required');
    if (!o.merge) {
        if (!o.encoder) throw new Error('--encoder is required');
        if (!o.images.length) throw new Error('--images is required');
    }
    return o;
}

// Other modes live in their own modules, each with main(argv) -> exit code;
// add one line here per mode (e.g. --everything -> everything.mjs, --boxes -> boxes.mjs).
const MODES = {
    '--everything': './everything.mjs',
    '--boxes': './boxes.mjs',
};

async function main() {
    const argv = process.argv.slice(2);
    for (const [flag, module] of Object.entries(MODES)) {
        if (argv.includes(flag)) process.exit(await (await import(module)).main(argv));
    }
    let o;
    try { o = parse_args(argv); } catch (err) {
        console.error(`embed: ${err.message}\n${USAGE}`);
        process.exit(2);
    }
    const r = o.merge ? await run_merge(o) : await run_embed(o);
    console.log(r.summary);
    process.exit(r.code);
}

main().catch((err) => { console.error(`embed: ${err.message}`); process.exit(2); });
