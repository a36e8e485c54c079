// check_document.mjs DOC ROUTES: the API reference against the gateway.
//
//   1. DOC (docs/openapi.yaml) is strict JSON (the gateway serves it as
//      application/json) and a valid OpenAPI 3.0.3 document
//      (@apidevtools/swagger-parser: schema, $refs, path parameters);
//   2. its operations are the gateway's routes: ROUTES is
//      `api-gateway --print-routes` ("METHOD PATTERN" a line, the rows of
//      api-gateway/gw_routes.c); a path parameter's name is not compared
//      ({id} and {checkout_token} are the same capture);
//   3. every operation answers application/json and documents its errors,
//      x-paymesh-unrouted gives the 404 and 405 of requests no route
//      takes, and x-paymesh-http the 400, 414 and 431 of the HTTP layer
//      (check_responses.mjs validates those against it).
//
// Prints what differs and exits 1 when anything does.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";

const [docPath, routesPath] = process.argv.slice(2);
if (!docPath || !routesPath) {
  console.error("usage: node check_document.mjs DOC ROUTES");
  process.exit(2);
}
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const problems = [];

let doc;
try {
  doc = JSON.parse(readFileSync(docPath, "utf8"));
} catch (e) {
  console.log(`  ${docPath} is not strict JSON: ${e.message}`);
  process.exit(1);
}
try {
  await SwaggerParser.validate(structuredClone(doc));
} catch (e) {
  console.log(`  ${docPath} is not a valid OpenAPI document:\n${e.message}`);
  process.exit(1);
}
if (doc.openapi !== "3.0.3") problems.push(`openapi is ${doc.openapi}, not 3.0.3`);

const norm = (p) => p.replace(/\{[^}/]*\}/g, "{}");
const documented = new Map(); // "METHOD /path/{}" -> path as documented
for (const [path, item] of Object.entries(doc.paths)) {
  for (const m of METHODS) {
    if (!item[m]) continue;
    documented.set(`${m.toUpperCase()} ${norm(path)}`, `${m.toUpperCase()} ${path}`);
    const responses = item[m].responses || {};
    for (const [status, r] of Object.entries(responses)) {
      const resolved = r.$ref ? doc.components.responses[r.$ref.split("/").pop()] : r;
      if (!["application/json", "text/plain", "text/html"].some((t) => resolved?.content?.[t]?.schema))
        problems.push(`${m.toUpperCase()} ${path}: response ${status} has no application/json (or text/plain, text/html) schema`);
    }
    if (!Object.keys(responses).some((s) => /^2/.test(s)))
      problems.push(`${m.toUpperCase()} ${path}: no 2xx response`);
    const secured = (item[m].security ?? doc.security ?? []).length > 0;
    if (secured && !responses["401"])
      problems.push(`${m.toUpperCase()} ${path}: takes a token but documents no 401`);
  }
}
for (const s of ["404", "405"])
  if (!doc["x-paymesh-unrouted"]?.[s]) problems.push(`x-paymesh-unrouted has no ${s}`);
for (const s of ["400", "414", "431"]) {
  const r = doc["x-paymesh-http"]?.[s];
  const resolved = r?.$ref ? doc.components.responses[r.$ref.split("/").pop()] : r;
  if (!resolved?.["x-paymesh-code"]) problems.push(`x-paymesh-http has no ${s} with its x-paymesh-code`);
}

const routes = new Map();
for (const line of readFileSync(routesPath, "utf8").split("\n")) {
  const t = line.trim();
  if (!t) continue;
  const [method, pattern, extra] = t.split(/\s+/);
  if (!pattern || extra !== undefined) {
    problems.push(`${routesPath}: malformed line "${t}"`);
    continue;
  }
  routes.set(`${method.toUpperCase()} ${norm(pattern)}`, `${method} ${pattern}`);
}
if (routes.size === 0) problems.push(`${routesPath}: no routes (api-gateway --print-routes printed nothing)`);
for (const [k, shown] of routes)
  if (!documented.has(k)) problems.push(`route ${shown} (gw_routes.c) is not in ${docPath}`);
for (const [k, shown] of documented)
  if (!routes.has(k)) problems.push(`operation ${shown} of ${docPath} is not a route of the gateway`);

if (problems.length) {
  for (const p of problems) console.log(`  ${p}`);
  console.log(`  ${problems.length} problem(s) in ${docPath}`);
  process.exit(1);
}
console.log(`  ${docPath}: valid OpenAPI ${doc.openapi}; its ${documented.size} operations are the gateway's ${routes.size} routes`);
