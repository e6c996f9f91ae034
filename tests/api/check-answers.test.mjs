// check-answers.test.mjs: the checker can fail. Answers made by hand (right ones, and each kind of
// wrong one) against src/api/openapi.json, and the document's own examples against its schemas.
// Run by tests/api/run.sh: node --test tests/api/check-answers.test.mjs
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { DEFAULT_DOCUMENT, makeChecker, run } from "./check-answers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const document = JSON.parse(readFileSync(DEFAULT_DOCUMENT, "utf8"));
const { check } = makeChecker(document);

const KEY_ID = "key_8Jd0QxT2mVb7Lp4Z";
const TOKEN = `kw_${KEY_ID}_${"A".repeat(43)}0b3XyZ`;
const JSON_TYPE = "application/json";

function answer(method, path, status, body, headers = [], contentType = JSON_TYPE) {
  return {
    method,
    path,
    status,
    content_type: contentType,
    headers: [["Content-Type", contentType], ...headers],
    body: typeof body === "string" ? body : JSON.stringify(body) + "\n",
  };
}

function key(overrides = {}) {
  return {
    key_id: KEY_ID,
    name: "Billing service",
    role: "admin",
    status: "enabled",
    enabled: true,
    off_the_record: false,
    postback_url: null,
    note: "",
    created_by: "command line",
    networks: [{ cidr: "203.0.113.0/24", label: "office" }],
    secret_hint: "x7Qa",
    previous_secret_until: null,
    created_at: "2026-12-03T17:41:46Z",
    updated_at: "2026-12-03T17:41:46Z",
    last_used_at: null,
    revoked_at: null,
    expires_at: null,
    allowlist_enabled: true,
    ...overrides,
  };
}

const granted = {
  valid: true,
  code: "granted",
  message: "Key is valid",
  key_id: KEY_ID,
  name: "Reader",
  role: "read-only",
  permissions: ["api.key.view"],
};
const unauthorized = [["WWW-Authenticate", 'Bearer realm="api"']];

function passes(record) {
  assert.deepEqual(check(record), [], `expected no problem with ${JSON.stringify(record).slice(0, 300)}`);
}

function fails(record, pattern) {
  const problems = check(record);
  assert.ok(problems.length > 0, `expected a problem with ${JSON.stringify(record).slice(0, 300)}`);
  if (pattern) assert.match(problems.join("\n"), pattern);
}

test("right answers of the verify endpoint pass", () => {
  passes(answer("POST", "/api/v1/keys/verify", 200, granted));
  passes(answer("POST", "/api/v1/keys/verify?x=1", 200, {
    valid: false, code: "invalid_key", message: "The API key is not valid",
    key_id: null, name: null, role: null, permissions: [],
  }));
  passes(answer("POST", "/api/v1/keys/verify", 401, { error: { code: "missing_key", message: "No API key was sent" } },
    unauthorized));
  passes(answer("POST", "/api/v1/keys/verify", 413, { error: { code: "body_too_large", message: "over 64 KiB" } }));
  passes(answer("POST", "/api/v1/keys/verify", 200, granted, [], "application/json; charset=utf-8"));
});

test("a verify answer with a member missing, one too many, a wrong type or an unknown code fails", () => {
  const { permissions, ...missing } = granted;
  fails(answer("POST", "/api/v1/keys/verify", 200, missing), /must have required property 'permissions'/);
  fails(answer("POST", "/api/v1/keys/verify", 200, { ...granted, workspace_id: 1 }),
    /must NOT have additional properties.*workspace_id/);
  fails(answer("POST", "/api/v1/keys/verify", 200, { ...granted, valid: "true" }), /\/valid must be boolean/);
  fails(answer("POST", "/api/v1/keys/verify", 200, { ...granted, code: "ok" }), /\/code must be equal to one of/);
  fails(answer("POST", "/api/v1/keys/verify", 200, { ...granted, key_id: "key_short" }), /\/key_id must match/);
  fails(answer("POST", "/api/v1/keys/verify", 400, { error: { code: "invalid_json", message: "" } }),
    /\/error\/message must NOT have fewer than 1 characters/);
  fails(answer("POST", "/api/v1/keys/verify", 400, { error: { code: "invalid_fields", message: "x" } }),
    /\/error\/code must be equal to one of/);
  fails(answer("POST", "/api/v1/keys/verify", 400, { code: "invalid_json", message: "flat, as the gate answers" }),
    /required property 'error'/);
});

test("a status the operation does not document fails", () => {
  fails(answer("POST", "/api/v1/keys/verify", 404, { error: { code: "not_found", message: "x" } }),
    /status 404 is not documented for POST \/api\/v1\/keys\/verify/);
  fails(answer("POST", "/api/v1/keys/verify", 204, ""), /status 204 is not documented/);
  fails(answer("GET", "/api/v1/roles", 422, { error: { code: "invalid_fields", message: "x" } }), /not documented/);
});

test("an unknown path passes only as 404 not_found", () => {
  passes(answer("GET", "/api/nothing", 404, { error: { code: "not_found", message: "There is no API endpoint" } }));
  passes(answer("POST", "/api", 404, { error: { code: "not_found", message: "There is no API endpoint" } }));
  fails(answer("GET", "/api/nothing", 200, { anything: true }), /status 200 is not documented.*unknown-path/);
  fails(answer("GET", "/api/v1/keys/verify/extra", 404, { error: { code: "key_not_found", message: "x" } }),
    /\/error\/code must be equal to one of/);
  fails(answer("GET", "/w/1/keys", 200, "<html>", [], "text/html"), /not under \/api\//);
  // A segment that cannot be a {key_id} (its schema's pattern) is no key's path either.
  passes(answer("GET", "/api/v1/keys/verify.json", 404, { error: { code: "not_found", message: "x" } }));
  fails(answer("GET", "/api/v1/keys/verify.json", 404, { error: { code: "key_not_found", message: "x" } }));
  passes(answer("GET", "/api/v1/keys/no-such_key", 404, { error: { code: "key_not_found", message: "x" } }));
  passes(answer("GET", "/api/v1/keys/%6Bey_x", 404, { error: { code: "key_not_found", message: "x" } }));
});

test("a listed path asked with another method passes only as 405 with Allow", () => {
  passes(answer("GET", "/api/v1/keys/verify", 405, { error: { code: "method_not_allowed", message: "POST only" } },
    [["Allow", "POST"]]));
  fails(answer("GET", "/api/v1/keys/verify", 405, { error: { code: "method_not_allowed", message: "POST only" } }),
    /header Allow.*missing/);
  fails(answer("DELETE", "/api/v1/keys/verify", 200, granted), /status 200 is not documented.*unknown-method/);
  // A literal segment wins over a parameter: GET /api/v1/keys/verify is not getKey.
  fails(answer("GET", "/api/v1/keys/verify", 200, { key: key() }), /unknown-method/);
});

test("HEAD is held to the path's GET, without a body", () => {
  passes(answer("HEAD", "/api/v1/roles", 200, "", [], JSON_TYPE));
  passes(answer("HEAD", "/api/v1/roles", 401, "", unauthorized, JSON_TYPE));
  fails(answer("HEAD", "/api/v1/roles", 401, "", [], JSON_TYPE), /WWW-Authenticate.*missing/);
  fails(answer("HEAD", "/api/v1/roles", 201, "", [], JSON_TYPE), /status 201 is not documented for HEAD \/api\/v1\/roles \(listRoles\)/);
  fails(answer("HEAD", "/api/v1/roles", 200, "{}", [], JSON_TYPE), /a HEAD answer came with a body/);
  fails(answer("HEAD", "/api/v1/keys/verify", 200, "", [], JSON_TYPE), /unknown-method/);
});

test("headers: a required one missing, or one that does not match its schema, fails", () => {
  fails(answer("POST", "/api/v1/keys/verify", 401, { error: { code: "revoked", message: "Key was revoked" } }),
    /WWW-Authenticate.*missing/);
  fails(answer("POST", "/api/v1/keys/verify", 401, { error: { code: "revoked", message: "Key was revoked" } },
    [["WWW-Authenticate", "Basic"]]), /WWW-Authenticate/);
  const created = { key: key(), token: TOKEN };
  passes(answer("POST", "/api/v1/keys", 201, created, [["Location", `/api/v1/keys/${KEY_ID}`]]));
  passes(answer("POST", "/api/v1/keys", 201, created,
    [["Location", `/keyward/api/v1/keys/${KEY_ID}`], ["Idempotent-Replayed", "true"]]));
  fails(answer("POST", "/api/v1/keys", 201, created), /Location.*missing/);
  fails(answer("POST", "/api/v1/keys", 201, created, [["Location", "/api/v1/keys/"]]), /Location/);
  fails(answer("POST", "/api/v1/keys", 201, created,
    [["Location", `/api/v1/keys/${KEY_ID}`], ["Idempotent-Replayed", "yes"]]), /Idempotent-Replayed/);
});

test("the wrong media type, or a body that is not JSON, fails", () => {
  fails(answer("POST", "/api/v1/keys/verify", 200, JSON.stringify(granted), [], "text/html"),
    /Content-Type "text\/html" is not one/);
  fails(answer("POST", "/api/v1/keys/verify", 200, JSON.stringify(granted), [], null), /Content-Type null/);
  fails(answer("POST", "/api/v1/keys/verify", 200, "{\"valid\": tru"), /the body is not JSON/);
});

test("the key object: every member required, times in UTC with seconds, enums held", () => {
  passes(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key() }));
  for (const member of Object.keys(key())) {
    const { [member]: _, ...without } = key();
    fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: without }), new RegExp(`required property '${member}'`));
  }
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ created_at: "2026-12-03 17:41:46" }) }),
    /\/key\/created_at must match/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ created_at: "2026-12-03T17:41:46+01:00" }) }),
    /\/key\/created_at must match/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ created_at: "2026-13-03T17:41:46Z" }) }),
    /\/key\/created_at must match format "date-time"/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ status: "active" }) }), /\/key\/status/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ postback_url: "" }) }), /\/key\/postback_url/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ networks: [{ cidr: "10.0.0.0/8" }] }) }),
    /required property 'label'/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ allowlist: true }) }),
    /additional properties.*allowlist/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 200, { key: key({ allowlist_enabled: "yes" }) }),
    /\/key\/allowlist_enabled must be boolean/);
  fails(answer("GET", `/api/v1/keys/${KEY_ID}`, 404, { error: { code: "not_found", message: "x" } }),
    /\/error\/code must be equal to one of/);
  fails(answer("POST", `/api/v1/keys/${KEY_ID}/roll`, 200, { key: key(), token: "kw_short" }), /\/token must match/);
});

test("422: invalid_fields names its fields, key_limit does not", () => {
  const fields = { code: "invalid_fields", message: "Name: Give the key a name", field: "name",
    fields: [{ field: "name", message: "Give the key a name" }] };
  passes(answer("POST", "/api/v1/keys", 422, { error: fields }));
  passes(answer("POST", "/api/v1/keys", 422, { error: { code: "key_limit", message: "No room for another key" } }));
  fails(answer("POST", "/api/v1/keys", 422, { error: { code: "invalid_fields", message: "x" } }));
  fails(answer("POST", "/api/v1/keys", 422, { error: { ...fields, fields: [] } }));
  fails(answer("POST", "/api/v1/keys", 422, { error: { code: "key_limit", message: "x", field: "name" } }));
  fails(answer(`PATCH`, `/api/v1/keys/${KEY_ID}`, 422, { error: { code: "key_limit", message: "x" } }));
});

test("the document served must be the document in the source", () => {
  passes(answer("GET", "/api/v1/openapi.json", 200, document));
  fails(answer("GET", "/api/v1/openapi.json", 200, { ...document, info: { ...document.info, version: "2" } }),
    /not src\/api\/openapi.json as it is/);
});

test("every example in the document is an answer its own schema accepts", () => {
  let examples = 0;
  for (const [template, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (method === "parameters") continue;
      for (const [status, reference] of Object.entries(operation.responses)) {
        const response = reference.$ref
          ? document.components.responses[reference.$ref.split("/").pop()]
          : reference;
        for (const [type, media] of Object.entries(response.content || {})) {
          if (media.example === undefined) continue;
          const headers = Object.keys(response.headers || {}).map((name) =>
            [name, { "WWW-Authenticate": 'Bearer realm="api"', Location: `/api/v1/keys/${KEY_ID}`,
                     "Idempotent-Replayed": "true" }[name]]);
          const path = template.replace("{key_id}", KEY_ID);
          assert.deepEqual(check(answer(method.toUpperCase(), path, Number(status), media.example, headers, type)), [],
            `${method} ${template} ${status}`);
          examples++;
        }
      }
    }
  }
  assert.ok(examples >= 20, `only ${examples} examples`);
});

test("the command line: exit status 1 and each failure printed; 0 when all are right; 2 on bad input", () => {
  const folder = mkdtempSync(join(tmpdir(), "keyward-check-answers-"));
  try {
    const file = join(folder, "answers.jsonl");
    const good = answer("POST", "/api/v1/keys/verify", 200, granted);
    const bad = answer("POST", "/api/v1/keys/verify", 200, { ...granted, extra: 1 });
    writeFileSync(file, [good, bad, good].map((r) => JSON.stringify(r)).join("\n") + "\n");
    const lines = [];
    assert.equal(run(file, DEFAULT_DOCUMENT, (line) => lines.push(line)), 1);
    const output = lines.join("\n");
    assert.match(output, /^FAIL POST \/api\/v1\/keys\/verify -> 200$/m);
    assert.match(output, /must NOT have additional properties \{"additionalProperty":"extra"\}/);
    assert.match(output, /api answers: 3 checked against .*, 1 not as documented/);

    writeFileSync(file, JSON.stringify(good) + "\n");
    const script = spawnSync(process.execPath, [join(HERE, "check-answers.mjs"), file], { encoding: "utf8" });
    assert.equal(script.status, 0, script.stdout + script.stderr);
    assert.match(script.stdout, /1 checked .* 0 not as documented/);

    writeFileSync(file, JSON.stringify(good) + "\n{not json\n");
    const broken = spawnSync(process.execPath, [join(HERE, "check-answers.mjs"), file], { encoding: "utf8" });
    assert.equal(broken.status, 2, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /line 2 is not JSON/);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test("a document whose schema Ajv cannot compile is refused, not half-checked", () => {
  const typo = structuredClone(document);
  typo.components.schemas.Key.additionalProperty = false; // a misspelt keyword
  assert.throws(() => makeChecker(typo), /unknown keyword/);
  assert.throws(() => makeChecker({ ...document, openapi: "3.0.3" }), /not an OpenAPI 3.1 document/);
});
