#!/usr/bin/env node
// An M model exported to ONNX, run from Node.js with onnxruntime-node.
//
//   m export sentiment:1 --format onnx -o sentiment.onnx
//   node predict.mjs sentiment.onnx "great food" "cold soup"     text model: raw texts in
//   node predict.mjs tiny.onnx --inputs inputs.json              tensor model: {"x": [[...], ...]}
//
// Prints JSON: {"output": [[...], ...], "labels": [...]} — one output row per example, and for a
// classifier each row's label.  Everything else comes from the export's sidecar (MODEL.json):
// input names and dtypes, the labels, and for a text model the tokenizer (MODEL.files/tokenizer/
// tokenizer.json) with the max_length, padding and pad id that M's own preprocessing uses.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";

import { Tokenizer } from "@huggingface/tokenizers";
import ort from "onnxruntime-node";

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** Texts → the model's token tensors, exactly as M's `preprocess` makes them. */
export function tokenize(texts, sidecar, folder) {
  const prep = sidecar.preprocessing;
  const configPath = join(folder, prep.tokenizer.replace(/tokenizer\.json$/, "tokenizer_config.json"));
  const tokenizer = new Tokenizer(readJson(join(folder, prep.tokenizer)),
                                  existsSync(configPath) ? readJson(configPath) : {});
  const rows = texts.map((text) => truncate(tokenizer, text, prep.max_length));
  const length = Math.max(...rows.map((row) => row.input_ids.length));  // padding: "longest"
  const padded = { input_ids: [], attention_mask: [], token_type_ids: [] };
  for (const row of rows) {
    const pad = length - row.input_ids.length;
    const fill = (values, value) => prep.padding_side === "left"
      ? [...Array(pad).fill(value), ...values] : [...values, ...Array(pad).fill(value)];
    padded.input_ids.push(fill(row.input_ids, prep.pad_token_id));
    padded.attention_mask.push(fill(row.attention_mask, 0));
    padded.token_type_ids.push(fill(row.token_type_ids, 0));
  }
  return padded;
}

/** One text, special tokens added, cut to `maxLength` as Hugging Face truncation does it: the
 * text's own tokens are shortened (from the right) and the special tokens kept. */
function truncate(tokenizer, text, maxLength) {
  const full = tokenizer.encode(text, { return_token_type_ids: true });
  const typeIds = full.token_type_ids ?? full.ids.map(() => 0);
  if (full.ids.length <= maxLength) {
    return { input_ids: full.ids, attention_mask: full.attention_mask, token_type_ids: typeIds };
  }
  const plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
  let start = 0;  // where the text's tokens begin after the leading special tokens ([CLS])
  while (start < full.ids.length && full.ids.slice(start, start + plain.length).some((id, i) => id !== plain[i])) start++;
  const end = start + plain.length;
  const keep = maxLength - (full.ids.length - plain.length);
  const pick = (values) => [...values.slice(0, start), ...values.slice(start, start + keep), ...values.slice(end)];
  return { input_ids: pick(full.ids), attention_mask: pick(full.attention_mask), token_type_ids: pick(typeIds) };
}

/** A nested list of numbers → an ONNX Runtime tensor of the sidecar's dtype. */
function toTensor(values, spec) {
  const dims = [];
  for (let level = values; Array.isArray(level); level = level[0]) dims.push(level.length);
  const flat = values.flat(Infinity);
  if (flat.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`${spec.name}: rows of different lengths`);
  if (dims.length !== spec.shape.length) throw new Error(`${spec.name}: expected ${spec.shape.length} dims, got ${dims.length}`);
  switch (spec.dtype) {
    case "int64": return new ort.Tensor("int64", BigInt64Array.from(flat, (v) => BigInt(v)), dims);
    case "int32": return new ort.Tensor("int32", Int32Array.from(flat), dims);
    case "float32": return new ort.Tensor("float32", Float32Array.from(flat), dims);
    case "float64": return new ort.Tensor("float64", Float64Array.from(flat), dims);
    case "bool": return new ort.Tensor("bool", Uint8Array.from(flat, (v) => (v ? 1 : 0)), dims);
    default: throw new Error(`${spec.name}: unsupported dtype ${spec.dtype}`);
  }
}

function rows(tensor) {
  const [batch, ...rest] = tensor.dims;
  const width = rest.reduce((a, b) => a * b, 1);
  const data = Array.from(tensor.data, Number);
  return Array.from({ length: batch }, (_, i) => data.slice(i * width, (i + 1) * width));
}

export async function predict(modelPath, { texts, inputs }) {
  const sidecar = readJson(`${modelPath}.json`);
  const folder = dirname(modelPath);
  let given = inputs;
  if (texts !== undefined) {
    if (sidecar.preprocessing?.kind !== "text") throw new Error(`${modelPath} takes ${sidecar.input_type}, not text`);
    given = tokenize(texts, sidecar, folder);
  }
  const feeds = {};
  for (const spec of sidecar.inputs) {
    if (!(spec.name in given)) throw new Error(`no input named ${spec.name}`);
    feeds[spec.name] = toTensor(given[spec.name], spec);
  }
  const session = await ort.InferenceSession.create(modelPath, { graphOptimizationLevel: "all" });
  const results = await session.run(feeds);
  const output = rows(results[sidecar.outputs[0].name]);
  const answer = { output };
  if (sidecar.task === "classification" && sidecar.labels && sidecar.outputs[0].shape.length === 2) {
    answer.labels = output.map((row) => sidecar.labels[row.indexOf(Math.max(...row))]);
  }
  return answer;
}

async function main(argv) {
  const [modelPath, ...rest] = argv;
  if (!modelPath || rest.length === 0) {
    console.error("usage: node predict.mjs MODEL.onnx TEXT...  |  node predict.mjs MODEL.onnx --inputs INPUTS.json");
    return 2;
  }
  const request = rest[0] === "--inputs" ? { inputs: readJson(rest[1]) } : { texts: rest };
  console.log(JSON.stringify(await predict(modelPath, request)));
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; },
                                    (error) => { console.error(`predict.mjs: ${error.message}`); process.exitCode = 1; });
}
