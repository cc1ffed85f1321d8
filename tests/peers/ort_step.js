// SPDX-License-Identifier: ISC
// Times one step of an ONNX model with ONNX Runtime (onnxruntime-node), one thread.
//   node ort_step.js MODEL.onnx SPEC.json
// SPEC: {"inputs": {name: {"shape": [...], "data": [...]}}, "state": {out_name: in_name},
//        "check": out_name}
// Feeds state outputs back as inputs (streaming), prints ORT_STEP_OUT lines for the
// first 3 steps (count, sum, first, last of the `check` output) and
// ORT_STEP_US median (7 repetitions of >= 20 ms of steps), in process CPU time
// (user + system), so time spent descheduled on a shared machine does not count.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, specPath] = process.argv.slice(2);
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  for (const [name, v] of Object.entries(spec.inputs)) {
    feeds[name] = new ort.Tensor('float32', Float32Array.from(v.data), v.shape);
  }
  const initial = Object.assign({}, feeds);
  const state = spec.state || {};
  async function step() {
    const out = await session.run(feeds);
    for (const [o, i] of Object.entries(state)) feeds[i] = out[o];
    return out;
  }
  for (let s = 0; s < 3; s++) {
    const out = await step();
    const d = out[spec.check].data;
    let sum = 0;
    for (let i = 0; i < d.length; i++) sum += d[i];
    console.log(`ORT_STEP_OUT ${s} ${d.length} ${sum} ${d[0]} ${d[d.length - 1]}`);
  }
  Object.assign(feeds, initial);
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e-6; };
  let iters = 1;
  for (;;) {
    const t0 = cpu();
    for (let i = 0; i < iters; i++) await step();
    const dt = cpu() - t0;
    if (dt >= 0.02) break;
    iters *= dt > 0.002 ? Math.ceil(0.025 / dt) : 10;
  }
  const r = [];
  for (let k = 0; k < 7; k++) {
    const t0 = cpu();
    for (let i = 0; i < iters; i++) await step();
    r.push((cpu() - t0) * 1e6 / iters);
  }
  r.sort((a, b) => a - b);
  console.log(`ORT_STEP_US ${r[3].toFixed(3)} ort ${ort.env.versions ? JSON.stringify(ort.env.versions) : ''}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
