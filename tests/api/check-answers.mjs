// check-answers.mjs: hold recorded answers of keyward's JSON API to its OpenAPI document.
//
//   node tests/api/check-answers.mjs ANSWERS.jsonl [DOCUMENT]
//
// ANSWERS.jsonl has one JSON object a line, as tests/http/harness.py records them:
//   {"method": "POST", "path": "/api/v1/keys/verify?x=1", "status": 200,
//    "content_type": "application/json", "headers": [["WWW-Authenticate", "..."], ...], "body": "..."}
// (the path without the console's base path; "headers" may be left out). DOCUMENT is
// src/api/openapi.json unless given.
//
// Each answer is matched to the document's path template (a literal segment wins over a {parameter},
// and a parameter's segment must fit its schema: /api/v1/keys/a.b is no /api/v1/keys/{key_id}),
// then to the operation of its method, then to the response of its status. It fails when:
//   - no template matches and the document's x-keyward-other-answers["unknown-path"] does not list
//     its status (a path under /api/ that keyward does not serve must answer 404 not_found), or the
//     template has no operation for the method and ["unknown-method"] does not list it (405);
//   - the operation does not document its status;
//   - its Content-Type is not one the response documents, or a JSON body does not parse;
//   - the body does not validate against the response's schema (Ajv, JSON Schema 2020-12, formats
//     checked; the document's schemas say additionalProperties: false, so a member the document does
//     not know fails too);
//   - a header the response marks required is missing, or a documented header's value does not
//     validate against its schema;
//   - the answer of getOpenApiDocument is not the document itself.
// A HEAD request is held to its path's GET operation (status and headers), and must have no body.
// Every failure is printed with its method, path, status and Ajv's errors. Exit status: 0 when every
// answer is as documented, 1 when one is not, 2 when the input or the document cannot be read.
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { isDeepStrictEqual } from "node:util";

import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DOCUMENT = join(HERE, "..", "..", "src", "api", "openapi.json");
const SCHEMAS_ID = "urn:keyward:openapi:schemas";
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const MAX_PRINTED = 100;

/* The object a local "$ref" ("#/components/...") points at, following chains of refs. */
function resolve(document, node) {
  const seen = new Set();
  while (node && typeof node === "object" && typeof node.$ref === "string") {
    const ref = node.$ref;
    if (!ref.startsWith("#/") || seen.has(ref)) throw new Error(`cannot resolve ${ref}`);
    seen.add(ref);
    node = ref
      .slice(2)
      .split("/")
      .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"))
      .reduce((at, part) => (at === undefined ? undefined : at[part]), document);
    if (node === undefined) throw new Error(`${ref} points at nothing`);
  }
  return node;
}

/* A copy of `schema` whose refs to #/components/schemas/NAME point into the schemas Ajv holds. */
function rewriteRefs(schema, where) {
  if (Array.isArray(schema)) return schema.map((item, index) => rewriteRefs(item, `${where}/${index}`));
  if (schema === null || typeof schema !== "object") return schema;
  const copy = {};
  for (const [name, value] of Object.entries(schema)) {
    if (name === "$ref") {
      const match = /^#\/components\/schemas\/([^/]+)$/.exec(value);
      if (!match) throw new Error(`${where}: a schema may refer only to #/components/schemas/NAME, not ${value}`);
      copy.$ref = `${SCHEMAS_ID}#/$defs/${match[1]}`;
    } else {
      copy[name] = rewriteRefs(value, `${where}/${name}`);
    }
  }
  return copy;
}

/* Lowercase media type without parameters: "application/json; charset=utf-8" -> "application/json". */
function mediaType(contentType) {
  return (contentType || "").split(";")[0].trim().toLowerCase();
}

function isJsonMedia(type) {
  return type === "application/json" || type.endsWith("+json");
}

function ajvErrors(errors) {
  return (errors || []).map((e) => {
    const params = Object.keys(e.params || {}).length ? ` ${JSON.stringify(e.params)}` : "";
    return `${e.instancePath || "(the body)"} ${e.message}${params}`;
  });
}

/*
 * A checker for `document` (the parsed OpenAPI document): check(record) returns the list of what is
 * wrong with one recorded answer ([] when it is as documented). Every schema in the document's
 * responses and headers is compiled up front, so that a schema Ajv cannot compile (a typo in a
 * keyword: Ajv runs in strict mode) is an error here even before an answer needs it.
 */
export function makeChecker(document) {
  if (typeof document?.openapi !== "string" || !document.openapi.startsWith("3.1.")) {
    throw new Error(`not an OpenAPI 3.1 document (openapi: ${JSON.stringify(document?.openapi)})`);
  }
  const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(document.components?.schemas || {}, "#/components/schemas") });
  const compiled = new Map();
  const compile = (schema, where) => {
    if (!compiled.has(where)) compiled.set(where, ajv.compile(rewriteRefs(schema, where)));
    return compiled.get(where);
  };

  // Every response the document can answer with: those of each operation, and the other answers.
  const other = document["x-keyward-other-answers"] || {};
  const responseSets = [];
  for (const [template, item] of Object.entries(document.paths || {})) {
    for (const method of METHODS) {
      if (item[method]) responseSets.push([`#/paths/${template}/${method}/responses`, item[method].responses || {}]);
    }
  }
  for (const kind of ["unknown-path", "unknown-method"]) {
    if (other[kind]) responseSets.push([`#/x-keyward-other-answers/${kind}`, other[kind]]);
  }
  for (const [where, responses] of responseSets) {
    for (const [status, reference] of Object.entries(responses)) {
      const response = resolve(document, reference);
      for (const [type, media] of Object.entries(response.content || {})) {
        if (media.schema) compile(media.schema, `${where}/${status}/content/${type}`);
      }
      for (const [name, header] of Object.entries(response.headers || {})) {
        const resolved = resolve(document, header);
        if (resolved.schema) compile(resolved.schema, `${where}/${status}/headers/${name}`);
      }
    }
  }

  // Each template's segments: a literal, or a path parameter with the validator of its schema (from
  // the path item's parameters, else the first operation that declares it).
  const templates = Object.entries(document.paths || {}).map(([template, item]) => {
    const declared = [item, ...METHODS.map((m) => item[m]).filter(Boolean)]
      .flatMap((holder) => (holder.parameters || []).map((p) => resolve(document, p)))
      .filter((p) => p.in === "path");
    const segments = template.split("/").map((part, index) => {
      const name = /^\{([^{}]+)\}$/.exec(part)?.[1];
      if (name === undefined) return { literal: part };
      const parameter = declared.find((p) => p.name === name);
      if (!parameter) throw new Error(`${template}: the path parameter {${name}} is not declared`);
      const schema = parameter.schema || {};
      return { validate: compile(schema, `#/paths/${template}/parameters/${name}/${index}`) };
    });
    return { template, segments };
  });

  /* A path segment as keyward reads it: percent-decoded (as it is, when that fails). */
  const decode = (segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  };

  /*
   * The template `path` falls under: its literal segments equal, its parameters' segments valid
   * against their schemas; a literal segment wins over a parameter. null when none.
   */
  function match(path) {
    const segments = path.split("/");
    let best = null;
    for (const candidate of templates) {
      if (candidate.segments.length !== segments.length) continue;
      let literal = 0;
      let fits = true;
      for (let i = 0; i < segments.length && fits; i++) {
        const part = candidate.segments[i];
        if (part.validate) fits = segments[i] !== "" && part.validate(decode(segments[i]));
        else if (part.literal === segments[i]) literal++;
        else fits = false;
      }
      if (fits && (best === null || literal > best.literal)) best = { template: candidate.template, literal };
    }
    return best ? best.template : null;
  }

  function check(record) {
    const problems = [];
    for (const [name, type] of [["method", "string"], ["path", "string"], ["status", "number"], ["body", "string"]]) {
      if (typeof record?.[name] !== type) return [`the record has no ${name} (${type}): ${JSON.stringify(record)}`];
    }
    const path = record.path.split(/[?#]/)[0];
    if (path !== "/api" && !path.startsWith("/api/")) return [`${path} is not under /api/: not the API's answer`];
    const template = match(path);
    // HEAD is answered as GET without the body, where the path has no HEAD operation of its own.
    const head = record.method.toUpperCase() === "HEAD" && template !== null && !document.paths[template].head;
    const method = head ? "get" : record.method.toLowerCase();
    let responses;
    let where;
    let operation = null;
    if (template === null) {
      responses = other["unknown-path"] || {};
      where = `no path of the document matches ${path}; x-keyward-other-answers["unknown-path"]`;
    } else if (!document.paths[template][method]) {
      responses = other["unknown-method"] || {};
      where = `${template} has no ${record.method} operation; x-keyward-other-answers["unknown-method"]`;
    } else {
      operation = document.paths[template][method];
      responses = operation.responses || {};
      where = `${record.method} ${template} (${operation.operationId})`;
    }
    const statusKey = [String(record.status), `${String(record.status)[0]}XX`, "default"].find((k) => k in responses);
    if (statusKey === undefined) {
      return [`status ${record.status} is not documented for ${where}: it lists ${Object.keys(responses).join(", ") || "none"}`];
    }
    const response = resolve(document, responses[statusKey]);
    const base =
      template === null
        ? "#/x-keyward-other-answers/unknown-path"
        : operation === null
          ? "#/x-keyward-other-answers/unknown-method"
          : `#/paths/${template}/${method}/responses`;

    // The body: its media type, then its schema.
    const content = response.content || {};
    const type = mediaType(record.content_type);
    if (head) {
      if (record.body !== "") problems.push(`a HEAD answer came with a body (${record.body.length} characters)`);
    } else if (Object.keys(content).length === 0) {
      if (record.body !== "") problems.push(`${where} ${statusKey} documents no body, but one came (${type || "no type"})`);
    } else if (!(type in content)) {
      problems.push(`Content-Type ${JSON.stringify(record.content_type)} is not one ${where} ${statusKey} documents (${Object.keys(content).join(", ")})`);
    } else if (isJsonMedia(type)) {
      let body;
      try {
        body = JSON.parse(record.body);
      } catch (error) {
        problems.push(`the body is not JSON (${error.message}): ${record.body.slice(0, 200)}`);
      }
      if (body !== undefined && content[type].schema) {
        const validate = compile(content[type].schema, `${base}/${statusKey}/content/${type}`);
        if (!validate(body)) {
          problems.push(`the body does not match the schema of ${where} ${statusKey}:`);
          problems.push(...ajvErrors(validate.errors).map((line) => `  ${line}`));
        }
        if (operation?.operationId === "getOpenApiDocument" && statusKey === "200" && !isDeepStrictEqual(body, document)) {
          problems.push("the document served is not src/api/openapi.json as it is in the source");
        }
      }
    }

    // The headers, when the record has them.
    if (Array.isArray(record.headers)) {
      for (const [name, reference] of Object.entries(response.headers || {})) {
        const header = resolve(document, reference);
        const values = record.headers.filter(([n]) => String(n).toLowerCase() === name.toLowerCase()).map(([, v]) => v);
        if (values.length === 0) {
          if (header.required) problems.push(`the header ${name}, required on ${where} ${statusKey}, is missing`);
          continue;
        }
        if (header.schema) {
          const validate = compile(header.schema, `${base}/${statusKey}/headers/${name}`);
          for (const value of values) {
            if (!validate(value)) {
              problems.push(`the header ${name}: ${JSON.stringify(value)} does not match its schema: ${ajvErrors(validate.errors).join("; ")}`);
            }
          }
        }
      }
    }
    return problems;
  }

  return { check, match };
}

/* The records of a JSON-lines file; a line that is not JSON throws, naming its number. */
export function readRecords(file) {
  const records = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (line.trim() === "") return;
      try {
        records.push(JSON.parse(line));
      } catch (error) {
        throw new Error(`${file} line ${index + 1} is not JSON: ${error.message}`);
      }
    });
  return records;
}

/* Check every record of `file` against `documentPath`; prints what fails; returns the exit status. */
export function run(file, documentPath = DEFAULT_DOCUMENT, out = console.log) {
  let checker;
  let records;
  const shown = relative(process.cwd(), documentPath) || documentPath;
  try {
    const document = JSON.parse(readFileSync(documentPath, "utf8"));
    checker = makeChecker(document);
    records = readRecords(file);
  } catch (error) {
    out(`check-answers: ${error.message}`);
    return 2;
  }
  let failed = 0;
  const seen = new Map(); // "METHOD template" -> statuses seen
  for (const record of records) {
    const problems = checker.check(record);
    const template = typeof record?.path === "string" ? checker.match(record.path.split(/[?#]/)[0]) : null;
    const key = `${record?.method} ${template ?? "(no template)"}`;
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key).add(record?.status);
    if (problems.length === 0) continue;
    failed++;
    if (failed <= MAX_PRINTED) {
      out(`FAIL ${record?.method} ${record?.path} -> ${record?.status}`);
      for (const line of problems) out(`  ${line}`);
      if (typeof record?.body === "string") out(`  body: ${record.body.slice(0, 400).trimEnd()}`);
    }
  }
  if (failed > MAX_PRINTED) out(`... and ${failed - MAX_PRINTED} more answers not as documented`);
  for (const [key, statuses] of [...seen].sort()) out(`  seen ${key}: ${[...statuses].sort().join(", ")}`);
  out(`api answers: ${records.length} checked against ${shown}, ${failed} not as documented`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, documentPath] = process.argv.slice(2);
  if (!file) {
    console.log("usage: node tests/api/check-answers.mjs ANSWERS.jsonl [src/api/openapi.json]");
    process.exit(2);
  }
  process.exit(run(file, documentPath || DEFAULT_DOCUMENT));
}
