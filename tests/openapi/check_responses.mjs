// check_responses.mjs DOC RESPONSES: the integration tests' answers against
// the API reference.
//
// RESPONSES is the JSONL file tests/integration/lib.sh's http() appends to
// when PM_RESPONSES is set: {test, method, path (as sent), status,
// content_type, bytes, body (text, or null when over 64 KiB)} a line.
// Each record is matched to an operation of DOC (docs/openapi.yaml): the
// query string is stripped, one trailing slash ignored, a {param} segment
// takes any non-empty segment, as gw_route_match does. Then:
//
//   - an answer of the HTTP layer (x-paymesh-http: malformed HTTP, a request
//     line or head too large), on any path: its status and code must be
//     one listed there, and the body must match (counted "http");
//   - a path no operation has: must be 404 with the x-paymesh-unrouted 404
//     body (counted "unrouted");
//   - a documented path with an undocumented method: must be 405 with the
//     x-paymesh-unrouted 405 body (counted "unrouted");
//   - otherwise the status must be one of the operation's responses and
//     the body must validate against its schema (ajv; OpenAPI 3.0's
//     nullable and boolean exclusiveMinimum are rewritten into JSON
//     Schema), and be served as application/json.
//
// Every JSON body is also checked for exact amounts: no number with an
// exponent or more than 8 decimals (1.1000000000000001), a payment's
// "amount" with exactly its currency's decimals and the order family's
// amounts (OInvTotal, ResPrice, TotalPrice) with exactly 2.
//
// Skipped, and counted: no answer (curl status 000), a body over 64 KiB
// (not recorded), and a body that is not JSON and not served as
// application/json. A body served as application/json that does not
// parse is a failure. Prints the counts and the first mismatches; exits 1
// when any record fails.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv from "ajv";

const [docPath, recordsPath] = process.argv.slice(2);
if (!docPath || !recordsPath) {
  console.error("usage: node check_responses.mjs DOC RESPONSES");
  process.exit(2);
}
const SHOW = 8; // mismatches printed in full
const EXPONENT = { BTC: 8, EUR: 2, GBP: 2, IRR: 0, IRT: 0, RUB: 2, TMT: 2, TRY: 2, USD: 2 };

const doc = await SwaggerParser.dereference(JSON.parse(readFileSync(docPath, "utf8")));

// OpenAPI 3.0 schema object -> JSON Schema (draft-07) for ajv.
const DROP = new Set(["nullable", "example", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly", "discriminator"]);
function toJsonSchema(s) {
  if (Array.isArray(s)) return s.map(toJsonSchema);
  if (!s || typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROP.has(k)) continue;
    if (k === "properties") out[k] = Object.fromEntries(Object.entries(v).map(([p, ps]) => [p, toJsonSchema(ps)]));
    else if (["items", "not", "additionalProperties", "allOf", "anyOf", "oneOf"].includes(k)) out[k] = toJsonSchema(v);
    else out[k] = v;
  }
  if (s.exclusiveMinimum === true) { out.exclusiveMinimum = s.minimum; delete out.minimum; }
  if (s.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (s.exclusiveMaximum === true) { out.exclusiveMaximum = s.maximum; delete out.maximum; }
  if (s.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (s.nullable === true) {
    if (typeof out.type === "string") {
      out.type = [out.type, "null"];
      if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [{ type: "null" }, out] };
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat("uuid", /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/);
ajv.addFormat("uri", /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]*$/);
const compiled = new Map();
function validator(key, response) {
  if (!compiled.has(key)) {
    const schema = response?.content?.["application/json"]?.schema;
    compiled.set(key, schema ? ajv.compile(toJsonSchema(schema)) : null);
  }
  return compiled.get(key);
}

// Path templates, most literal first ("/finance/bazaarpay/checkout" before
// ".../checkout/{checkout_token}" does not matter: the segment counts differ).
const templates = Object.keys(doc.paths).map((p) => ({
  path: p,
  re: new RegExp("^" + p.split("/").map((seg) => (/^\{[^}]*\}$/.test(seg) ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/") + "$"),
  literal: !p.includes("{"),
}));
templates.sort((a, b) => Number(b.literal) - Number(a.literal));
function route(rawPath) {
  let p = rawPath.replace(/[?#].*$/, "");
  if (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return templates.find((t) => t.re.test(p))?.path;
}

// Exact amounts, on the body's text (JSON.parse would hide 1.10 vs 1.1).
function amountProblems(text) {
  const out = [];
  const bare = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const m of bare.matchAll(/-?\d+(\.\d+)?([eE][+-]?\d+)?/g)) {
    if (m[2]) out.push(`number ${m[0]} has an exponent`);
    else if (m[1] && m[1].length - 1 > 8) out.push(`number ${m[0]} has more than 8 decimals`);
  }
  const cur = /"currency"\s*:\s*"([A-Z]+)"/.exec(text);
  const amt = /"amount"\s*:\s*(\d+(?:\.\d+)?)/.exec(text);
  if (cur && amt && EXPONENT[cur[1]] !== undefined) {
    const decimals = amt[1].includes(".") ? amt[1].split(".")[1].length : 0;
    if (decimals !== EXPONENT[cur[1]])
      out.push(`amount ${amt[1]} ${cur[1]} is not written with ${EXPONENT[cur[1]]} decimals`);
  }
  for (const m of text.matchAll(/"(OInvTotal|ResPrice|TotalPrice)"\s*:\s*(-?[0-9.eE+-]+)/g))
    if (!/^\d+\.\d{2}$/.test(m[2])) out.push(`${m[1]} ${m[2]} is not written with 2 decimals`);
  return out;
}

const counts = { records: 0, checked: 0, matched: 0, unrouted: 0, http: 0, failed: 0, skipped_no_answer: 0, skipped_large: 0, skipped_not_json: 0 };
const failures = [];
const covered = new Set();
function fail(rec, why) {
  counts.failed++;
  failures.push({ rec, why });
}

const lines = readFileSync(recordsPath, "utf8").split("\n").filter((l) => l.trim());
for (const [i, line] of lines.entries()) {
  let rec;
  try {
    rec = JSON.parse(line);
  } catch {
    fail({ test: "?", method: "?", path: `line ${i + 1}`, status: 0 }, "not a JSON record");
    continue;
  }
  counts.records++;
  if (!rec.status) { counts.skipped_no_answer++; continue; }
  if (rec.body === null) { counts.skipped_large++; continue; }
  const isJsonType = /^application\/json\b/i.test(rec.content_type || "");
  let body;
  try {
    body = JSON.parse(rec.body);
  } catch {
    if (isJsonType) fail(rec, "the body is served as application/json but is not JSON");
    else counts.skipped_not_json++;
    continue;
  }
  counts.checked++;
  if (!isJsonType) fail(rec, `Content-Type is "${rec.content_type}", not application/json`);

  const path = route(rec.path);
  const method = String(rec.method).toLowerCase();
  let response, key, what;
  const http = doc["x-paymesh-http"]?.[String(rec.status)];
  if (http && body?.code === http["x-paymesh-code"]) {
    counts.http++;
    response = http;
    key = `http ${rec.status}`;
    covered.add(key);
  } else if (!path || !doc.paths[path][method]) {
    counts.unrouted++;
    const want = path ? "405" : "404";
    what = path ? `${rec.method} on ${path} (no such operation)` : "no such path";
    if (String(rec.status) !== want) {
      fail(rec, `${what}: status ${rec.status}, want ${want}`);
      continue;
    }
    response = doc["x-paymesh-unrouted"][want];
    key = `unrouted ${want}`;
  } else {
    counts.matched++;
    const op = doc.paths[path][method];
    what = `${rec.method.toUpperCase()} ${path}`;
    response = op.responses[String(rec.status)] ?? op.responses.default;
    if (!response) {
      fail(rec, `${what}: status ${rec.status} is not documented (documented: ${Object.keys(op.responses).join(", ")})`);
      continue;
    }
    key = `${what} ${rec.status}`;
    covered.add(key);
  }
  const validate = validator(key, response);
  if (!validate) {
    fail(rec, `${key}: the document has no application/json schema for it`);
    continue;
  }
  if (!validate(body)) {
    const errs = validate.errors.slice(0, 4).map((e) => `${e.instancePath || "/"} ${e.message}${e.params && Object.keys(e.params).length ? " " + JSON.stringify(e.params) : ""}`);
    fail(rec, `${key}: the body does not match the schema: ${errs.join("; ")}`);
    continue;
  }
  const amounts = amountProblems(rec.body);
  if (amounts.length) fail(rec, `${key}: ${amounts.join("; ")}`);
}

for (const { rec, why } of failures.slice(0, SHOW)) {
  console.log(`  FAIL ${rec.test}: ${rec.method} ${String(rec.path).slice(0, 120)} -> ${rec.status}`);
  console.log(`       ${why}`);
  if (typeof rec.body === "string") console.log(`       body: ${rec.body.slice(0, 300).replace(/\s+/g, " ")}`);
}
if (failures.length > SHOW) console.log(`  ... and ${failures.length - SHOW} more mismatches`);

const ops = [];
for (const [p, item] of Object.entries(doc.paths))
  for (const m of Object.keys(item)) if (item[m]?.responses) ops.push(`${m.toUpperCase()} ${p}`);
const unexercised = ops.filter((o) => ![...covered].some((k) => k.startsWith(o + " ")));
console.log(`  ${counts.records} responses recorded: ${counts.checked} checked (${counts.matched} matched to an operation, ${counts.unrouted} unrouted 404/405, ${counts.http} refused by the HTTP layer), ${counts.failed} failed; skipped: ${counts.skipped_no_answer} without an answer, ${counts.skipped_large} over 64 KiB, ${counts.skipped_not_json} not JSON`);
console.log(`  ${covered.size} (operation, status) pairs seen; operations never answered: ${unexercised.length ? unexercised.join(", ") : "none"}`);
if (counts.checked === 0 && counts.failed === 0) {
  console.log("  nothing was checked");
  process.exit(1);
}
process.exit(counts.failed ? 1 : 0);
