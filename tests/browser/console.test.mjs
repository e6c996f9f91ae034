// console.test.mjs: every workflow of the console in a real headless Chromium (run by run.py).
//
// One browser, one signed-in context, the tests in order (each builds on the last): sign in;
// create a key with networks and labels; copy its secret; close the secret page; find the key with
// the Filter box; edit it; a form with errors keeps every typed value; regenerate; disable;
// revoke; the Usage tab's chart after real traffic through the gatekeeper; the whole flow by
// keyboard alone; the account page (an error, then a new password). Every page visited is
// checked on the way (checkPage): axe-core finds no serious or critical accessibility problem, no inline script and no Content-Security-Policy complaint,
// nothing wider than a 360 px phone, and a screenshot goes to KW_ARTIFACTS.
//
// Environment (run.py sets it): KW_BASE, KW_EMAIL, KW_PASSWORD, KW_JS ("on"/"off"), KW_RUN,
// KW_ARTIFACTS, KW_API_PREFIX, KW_CHROMIUM.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const base = process.env.KW_BASE;
const javascript = process.env.KW_JS !== "off";
const artifacts = process.env.KW_ARTIFACTS;
const apiPrefix = process.env.KW_API_PREFIX || "/protected/";
const TOKEN = /^kw_key_[0-9A-Za-z]{16}_[0-9A-Za-z]{49}$/;

let browser, context, page;
let checker; // with JavaScript off, axe runs on a copy of each page in a page of its own (see audit())
let shot = 0;
const problems = []; // console messages about the Content-Security-Policy, page errors
const state = {}; // what one test leaves for the next: key URL, token, ...

before(async () => {
	browser = await chromium.launch({
		executablePath: process.env.KW_CHROMIUM || "/usr/bin/chromium",
		args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
			"--disable-component-update", "--disable-sync"],
	});
	context = await browser.newContext({ javaScriptEnabled: javascript, viewport: { width: 1280, height: 900 } });
	if (javascript)
		await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
	page = await context.newPage();
	page.setDefaultTimeout(10000);
	page.on("console", (message) => {
		if (/Content Security Policy|Refused to (execute|load|apply)/i.test(message.text()))
			problems.push(message.text());
	});
	page.on("pageerror", (error) => problems.push(String(error)));
	if (!javascript) {
		const scripted = await browser.newContext({ viewport: { width: 1280, height: 900 } });
		checker = await scripted.newPage();
		checker.setDefaultTimeout(10000);
	}
});

after(async () => {
	await browser?.close();
});

// Go to a console address and check the page.
async function visit(address, name) {
	const response = await page.goto(address.startsWith("http") ? address : base + address);
	await checkPage(name);
	return response;
}

// The checks every page gets, and its screenshot (NN-name.png, desktop and 360 px wide).
async function checkPage(name) {
	assert.deepEqual(problems.splice(0), [], "no Content-Security-Policy complaint or script error");
	const inline = await page.$$eval("script:not([src])", (scripts) => scripts.length);
	assert.equal(inline, 0, "no inline script");
	const onAttributes = await page.$$eval("*", (all) =>
		all.filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).map((e) => e.tagName));
	assert.deepEqual(onAttributes, [], "no inline event handlers");
	const result = await audit();
	const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
	assert.deepEqual(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`),
		[], `accessibility of ${name}`);
	const number = String(++shot).padStart(2, "0");
	await page.screenshot({ path: path.join(artifacts, `${number}-${name}.png`), fullPage: true });
	const viewport = page.viewportSize();
	await page.setViewportSize({ width: 360, height: 800 });
	const wide = await (checker ?? page).evaluate(() => document.documentElement.scrollWidth);
	await page.screenshot({ path: path.join(artifacts, `${number}-${name}-phone.png`), fullPage: true });
	await page.setViewportSize(viewport);
	assert.ok(wide <= 361, `${name} fits a 360 px screen (it is ${wide} px wide)`);
}

// axe-core's findings on the page. axe needs the page's timers, which do not run with JavaScript
// off: then the page's HTML, as the browser has it, is opened in a page with JavaScript on (its
// stylesheet and images from the server, its script left out) and checked there, at the phone
// width the caller measures next.
async function audit() {
	let target = page;
	if (!javascript) {
		const html = await page.content();
		const address = page.url();
		await checker.unrouteAll();
		await checker.route((url) => url.href === address, (route) =>
			route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: html }));
		await checker.route(/\/static\/keyward\.js$/, (route) => route.abort()); // the page as it is without it
		await checker.setViewportSize({ width: 1280, height: 900 });
		await checker.goto(address);
		target = checker;
	}
	await target.evaluate(axeSource);
	const result = await target.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
	if (checker)
		await checker.setViewportSize({ width: 360, height: 800 });
	return result;
}

// Submit by clicking a button, and wait for the page it leads to.
async function clickAndWait(locator) {
	await Promise.all([page.waitForLoadState("load"), page.waitForNavigation(), locator.click()]);
}

test("sign in", async () => {
	await visit("/signin", "sign-in");
	await page.fill("#email", process.env.KW_EMAIL);
	await page.fill("#password", process.env.KW_PASSWORD);
	await clickAndWait(page.getByRole("button", { name: "Sign in" }));
	assert.match(page.url(), /\/w\/1\/$/);
	await checkPage("dashboard");
	assert.ok(await page.getByRole("button", { name: "Sign out" }).isVisible());
});

test("create a key with networks and labels", async () => {
	await visit("/w/1/keys/new", "new-key");
	await page.fill("#name", "Billing service (production)");
	await page.fill("#cidr-0", "203.0.113.0/24");
	await page.fill("#cidr-label-0", "office");
	// One more row: a plain form post without JavaScript; everything typed comes back.
	await clickAndWait(page.getByRole("button", { name: "Add another network" }));
	assert.equal(await page.inputValue("#name"), "Billing service (production)");
	assert.equal(await page.inputValue("#cidr-0"), "203.0.113.0/24");
	assert.equal(await page.inputValue("#cidr-label-0"), "office");
	await page.fill("#cidr-1", "127.0.0.1");
	await page.fill("#cidr-label-1", "this machine");
	const admin = await page.$eval("#role", (select) =>
		[...select.options].find((option) => option.textContent.startsWith("admin")).value);
	await page.selectOption("#role", admin);
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	assert.match(page.url(), /\/keys\/key_[0-9A-Za-z]{16}\/secret\?done=created$/);
	await checkPage("secret");
	state.token = await page.inputValue("#secret");
	assert.match(state.token, TOKEN);
	state.keyUrl = page.url().replace(/\/secret\?.*$/, "");
});

test("copy the secret", async () => {
	assert.ok(await page.locator("#secret").evaluate((input) => input.readOnly), "the field cannot be changed");
	const copy = page.getByRole("button", { name: "Copy" });
	if (javascript) {
		await copy.click();
		await page.getByText("Copied.").waitFor();
		assert.equal(await page.evaluate(() => navigator.clipboard.readText()), state.token);
	} else {
		assert.equal(await copy.count(), 0, "no Copy button without JavaScript");
		// The field is there to select by hand: a click and Ctrl+A select all of it.
		await page.click("#secret");
		await page.keyboard.press("Control+A");
		const selected = await page.locator("#secret").evaluate((input) =>
			input.value.slice(input.selectionStart, input.selectionEnd));
		assert.equal(selected, state.token);
	}
});

test("tick 'I have copied it' and close; the secret is not shown again", async () => {
	const close = page.getByRole("button", { name: "Close" });
	if (javascript) { // the browser holds the form back until the box is ticked
		await close.click();
		assert.match(page.url(), /\/secret\?/);
	}
	await page.check("#copied");
	await clickAndWait(close);
	assert.equal(page.url(), state.keyUrl + "?done=created");
	await checkPage("key");
	assert.ok(await page.getByText("Key created.").isVisible());
	assert.equal(await page.locator("body").textContent().then((t) => t.includes(state.token)), false);
	const again = await page.goto(state.keyUrl + "/secret");
	assert.equal(again.status(), 410);
	await checkPage("secret-gone");
});

test("find the key with the Filter box", async () => {
	// A second key, so that filtering has something to hide.
	await visit("/w/1/keys/new", "new-key-2");
	await page.fill("#name", "Reporting robot");
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	await visit("/w/1/keys", "keys");
	const rows = page.locator("#key-table tbody tr");
	assert.equal(await rows.count(), 2);
	await page.fill("#q", "billing");
	if (javascript) { // live, on this page, before anything is sent
		await page.getByText("1 of 2 keys on this page match").waitFor();
		assert.equal(await page.locator("#key-table tbody tr:visible").count(), 1);
	}
	await page.press("#q", "Enter");
	await page.waitForURL(/q=billing/);
	await checkPage("keys-filtered");
	assert.equal(await rows.count(), 1);
	assert.equal(await rows.first().locator("td[data-label=Name]").textContent(), "Billing service (production)");
});

test("edit the key", async () => {
	await visit(state.keyUrl + "/edit", "edit");
	assert.equal(await page.inputValue("#cidr-1"), "127.0.0.1/32");
	await page.fill("#name", "Billing service (prod)");
	await page.fill("#cidr-label-1", "this very machine");
	await clickAndWait(page.getByRole("button", { name: "Save changes" }));
	assert.equal(page.url(), state.keyUrl + "?done=updated");
	await checkPage("key-edited");
	assert.equal(await page.locator("h1").textContent().then((t) => t.trim().startsWith("Billing service (prod)")), true);
	assert.ok(await page.getByRole("cell", { name: "this very machine", exact: true }).isVisible());
});

test("a form with errors keeps every typed value and focuses the first error", async () => {
	await visit("/w/1/keys/new", "new-key-3");
	await page.fill("#name", "Typo <b>test</b> 'quoted'");
	await page.fill("#cidr-0", "10.1.2.3/8");
	await page.fill("#cidr-label-0", "VPN & friends");
	await page.fill("#postback_url", "ftp://example.com/hook");
	await page.uncheck("#enabled");
	await page.check("#off_record");
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	await checkPage("new-key-errors");
	assert.equal(await page.inputValue("#name"), "Typo <b>test</b> 'quoted'");
	assert.equal(await page.inputValue("#cidr-0"), "10.1.2.3/8");
	assert.equal(await page.inputValue("#cidr-label-0"), "VPN & friends");
	assert.equal(await page.inputValue("#postback_url"), "ftp://example.com/hook");
	assert.equal(await page.isChecked("#enabled"), false);
	assert.equal(await page.isChecked("#off_record"), true);
	// Each message is tied to its field, the summary links to them, the first one has the focus.
	for (const [input, says] of [["cidr-0", "10.0.0.0/8"], ["postback_url", "http"]]) {
		const described = await page.getAttribute("#" + input, "aria-describedby");
		const errorId = described.split(" ").find((id) => id.endsWith("-error"));
		assert.ok(errorId, `${input} is described by its error`);
		assert.match(await page.textContent("#" + errorId), new RegExp(says.replace(/[./]/g, "\\$&")));
		assert.equal(await page.getAttribute("#" + input, "aria-invalid"), "true");
		assert.equal(await page.locator(`.error-summary a[href="#${input}"]`).count(), 1);
	}
	assert.equal(await page.evaluate(() => document.activeElement.id), "cidr-0");
	assert.equal(await page.locator("#key-table").count(), 0);
});

test("regenerate the secret", async () => {
	await visit(state.keyUrl, "key-before-regenerate");
	await clickAndWait(page.getByRole("link", { name: "Regenerate secret" }));
	await checkPage("regenerate-confirm");
	await clickAndWait(page.getByRole("button", { name: /Regenerate/ }));
	await checkPage("regenerated-secret");
	const token = await page.inputValue("#secret");
	assert.match(token, TOKEN);
	assert.notEqual(token, state.token);
	state.token = token;
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	assert.equal(page.url(), state.keyUrl + "?done=regenerated");
});

test("the Usage tab draws its chart after traffic through the gatekeeper", async () => {
	// Real calls through the web server, which asks keyward (the authorizer) about each.
	for (let i = 0; i < 6; i++) {
		const response = await fetch(base + apiPrefix + "orders", { headers: { Authorization: "Bearer " + state.token } });
		assert.equal(response.status, 200);
	}
	const refused = await fetch(base + apiPrefix + "orders", { headers: { Authorization: "Bearer kw_key_nothing" } });
	assert.equal(refused.status, 401);
	// The usage writer flushes every second.
	let text = "";
	for (let tries = 0; tries < 40 && !text.includes("6 calls: 6 granted"); tries++) {
		await new Promise((resolve) => setTimeout(resolve, 250));
		await page.goto(state.keyUrl + "/usage?period=24h");
		text = (await page.locator("svg[role=img] desc").textContent()) || "";
	}
	assert.match(text, /^6 calls: 6 granted, 0 refused/);
	await checkPage("usage");
	const bars = await page.locator("svg[role=img] g > title").count();
	assert.equal(bars, 24);
	const box = await page.locator("figure.chart svg").boundingBox();
	assert.ok(box.width > 600 && box.height > 150, `the chart is drawn large (${box.width}x${box.height})`);
	assert.ok(await page.getByText(apiPrefix + "orders").first().isVisible());
	for (const period of ["7 days", "30 days"]) {
		await clickAndWait(page.getByRole("link", { name: period }));
		await checkPage("usage-" + period.replace(" ", ""));
		assert.match(await page.locator("svg[role=img] desc").textContent(), /^6 calls/);
	}
});

test("disable the key (with a confirmation step when JavaScript is on)", async () => {
	await visit(state.keyUrl, "key-enabled");
	let asked = null;
	page.once("dialog", async (dialog) => {
		asked = dialog.message();
		await dialog.accept();
	});
	await clickAndWait(page.getByRole("button", { name: "Disable" }));
	assert.equal(page.url(), state.keyUrl + "?done=disabled");
	if (javascript)
		assert.match(asked, /^Disable “Billing service \(prod\)”\?/);
	else
		assert.equal(asked, null);
	await checkPage("key-disabled");
	assert.ok(await page.getByText("Disabled", { exact: true }).first().isVisible(), "the badge says it in words");
	const call = await fetch(base + apiPrefix + "orders", { headers: { Authorization: "Bearer " + state.token } });
	assert.equal(call.status, 401);
	assert.equal((await call.json()).code, "disabled");
});

test("revoke the key", async () => {
	await clickAndWait(page.getByRole("link", { name: "Revoke" }));
	await checkPage("revoke-confirm");
	await clickAndWait(page.getByRole("button", { name: /Revoke/ }));
	assert.equal(page.url(), state.keyUrl + "?done=revoked");
	await checkPage("key-revoked");
	assert.equal(await page.getByRole("link", { name: "Edit" }).count(), 0);
	const call = await fetch(base + apiPrefix + "orders", { headers: { Authorization: "Bearer " + state.token } });
	assert.equal((await call.json()).code, "revoked");
});

test("the whole flow by keyboard alone", async () => {
	await page.goto(base + "/w/1/keys");
	// From the top of the page, Tab until the "Create a key" link has the focus, then Enter.
	await tabTo(async () => page.evaluate(() => document.activeElement.textContent.trim() === "Create a key"));
	await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
	assert.match(page.url(), /\/keys\/new$/);
	await tabTo(async () => page.evaluate(() => document.activeElement.id === "name"));
	await page.keyboard.type("Typed by keyboard");
	await tabTo(async () => page.evaluate(() => document.activeElement.textContent.trim() === "Create key"));
	await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
	await tabTo(async () => page.evaluate(() => document.activeElement.id === "copied"));
	await page.keyboard.press("Space");
	await tabTo(async () => page.evaluate(() => document.activeElement.textContent.trim() === "Close"));
	await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
	assert.match(page.url(), /\?done=created$/);
	assert.match(await page.locator("h1").textContent(), /Typed by keyboard/);
	// The focus is always visible: the focused element draws an outline.
	await page.keyboard.press("Tab");
	const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
	assert.notEqual(outline, "none");
});

// Press Tab until `reached()` holds (80 presses at most).
async function tabTo(reached) {
	for (let i = 0; i < 80; i++) {
		if (await reached())
			return;
		await page.keyboard.press("Tab");
	}
	assert.fail("not reachable with the Tab key");
}

test("the other pages pass the same checks; an invitation link is there to copy", async () => {
	for (const [address, name] of [["/w/1/roles", "roles"], ["/w/1/roles/new", "new-role"], ["/w/1/audit", "audit"],
		["/workspaces", "workspaces"], ["/w/1/members", "members"]])
		await visit(address, name);
	await page.fill("#email", "viewer@example.com");
	await page.selectOption("#invite-role", "viewer");
	await clickAndWait(page.getByRole("button", { name: "Make an invitation link" }));
	await checkPage("invitation-link");
	const link = await page.inputValue("#invitation-link");
	assert.match(link, new RegExp("^" + base.replace(/[.:/]/g, "\\$&") + "/join/"));
	assert.equal(await page.getByRole("button", { name: "Copy" }).count(), javascript ? 1 : 0);
	state.invitation = link;
});

test("the account page: errors beside their fields, then a new password, still signed in", async () => {
	await clickAndWait(page.getByRole("link", { name: /your account/ }));
	assert.match(page.url(), /\/account$/);
	await checkPage("account");
	// A wrong current password: the error is next to its field, which gets the focus; no password comes back.
	await page.fill("#current_password", "not my password at all");
	await page.fill("#password", "a brand new passphrase");
	await page.fill("#password_again", "a brand new passphrase");
	await clickAndWait(page.getByRole("button", { name: "Change password" }));
	await checkPage("account-error");
	assert.equal(await page.locator("#current_password-error").textContent(), "That is not your current password.");
	assert.equal(await page.getAttribute("#current_password", "aria-invalid"), "true");
	assert.equal(await page.evaluate(() => document.activeElement?.id), "current_password");
	for (const field of ["#current_password", "#password", "#password_again"])
		assert.equal(await page.inputValue(field), "");
	await page.fill("#current_password", process.env.KW_PASSWORD);
	await page.fill("#password", "a brand new passphrase");
	await page.fill("#password_again", "a brand new passphrase");
	await clickAndWait(page.getByRole("button", { name: "Change password" }));
	assert.match(page.url(), /\/account\?done=password-changed$/);
	await checkPage("account-changed");
	assert.ok(await page.getByText("Your password is changed.").isVisible());
	assert.ok(await page.getByRole("button", { name: "Sign out everywhere" }).isVisible());
	await page.goto(base + "/w/1/"); // where the next test signs out
});

test("sign out", async () => {
	await clickAndWait(page.getByRole("button", { name: "Sign out" }));
	await checkPage("signed-out");
	const response = await page.goto(base + "/w/1/keys");
	assert.match(page.url(), /\/signin\?next=/);
	assert.equal(response.status(), 200);
	// The invitation, opened by someone without an account.
	await visit(state.invitation, "join");
	assert.ok(await page.getByText("viewer@example.com").first().isVisible());
});

// ---- walk: role-aware pages and the walk's fixes ----
// Issue 15, items 7 and 13. Runs after "sign out" above: nobody is signed in, the owner's password
// is the one the account test set, and state.invitation is a viewer's unused invitation link.
const OWNER_PASSWORD_NOW = "a brand new passphrase";
const HEADER_MAX_PHONE = 110; // px: the header's height at 390 and 360 px wide (it was 176 at 390)

async function signInAs(email, password) {
	await page.goto(base + "/signin");
	await page.fill("#email", email);
	await page.fill("#password", password);
	await clickAndWait(page.getByRole("button", { name: "Sign in" }));
}

async function signOut() {
	await clickAndWait(page.getByRole("button", { name: "Sign out" }));
}

test("walk: sign-in puts the cursor in the first empty field", async () => {
	await visit("/signin", "walk-sign-in");
	assert.equal(await page.evaluate(() => document.activeElement?.id), "email", "E-mail is empty: it has the cursor");
	await page.fill("#email", process.env.KW_EMAIL);
	await page.fill("#password", "not the password");
	await clickAndWait(page.getByRole("button", { name: "Sign in" }));
	await checkPage("walk-sign-in-failed");
	assert.equal(await page.inputValue("#email"), process.env.KW_EMAIL);
	assert.equal(await page.evaluate(() => document.activeElement?.id), "password", "E-mail is filled: Password has it");
});

test("walk: a new member is welcomed, and a viewer is offered no change to keys", async () => {
	await visit(state.invitation, "walk-join");
	await page.fill("#password", "a viewer's long password");
	await page.fill("#password_again", "a viewer's long password");
	await clickAndWait(page.getByRole("button", { name: "Make my account and join" }));
	assert.match(page.url(), /\/w\/1\/keys\?done=joined$/);
	await checkPage("walk-joined");
	assert.ok(await page.getByText("Welcome: you are now a member of this workspace.").isVisible());
	// The key list: keys to look at, nothing to create.
	assert.equal(await page.getByRole("link", { name: "New key" }).count(), 0);
	assert.equal(await page.getByRole("link", { name: "Create a key" }).count(), 0);
	const first = page.locator("#key-table tbody tr td[data-label=Name] a").first();
	await clickAndWait(first);
	await checkPage("walk-viewer-key");
	for (const name of ["Edit", "Regenerate secret", "Revoke"])
		assert.equal(await page.getByRole("link", { name }).count(), 0, `no ${name} for a viewer`);
	for (const name of ["Disable", "Enable"])
		assert.equal(await page.getByRole("button", { name }).count(), 0, `no ${name} for a viewer`);
	assert.equal(await page.getByRole("heading", { name: "Actions" }).count(), 0);
	// Roles and members: to read, not to change.
	await visit("/w/1/roles", "walk-viewer-roles");
	assert.equal(await page.getByRole("link", { name: "Create a role" }).count(), 0);
	assert.equal(await page.locator("a[href$='/edit']").count(), 0);
	await visit("/w/1/members", "walk-viewer-members");
	assert.equal(await page.getByRole("button", { name: /^Change/ }).count(), 0);
	assert.equal(await page.getByRole("heading", { name: "Invite someone" }).count(), 0);
	await signOut();
});

test("walk: the owner still sees every action", async () => {
	await signInAs(process.env.KW_EMAIL, OWNER_PASSWORD_NOW);
	await visit("/w/1/keys", "walk-owner-keys");
	assert.equal(await page.getByRole("link", { name: "New key" }).count(), 1);
	assert.equal(await page.getByRole("link", { name: "Create a key" }).count(), 1);
	const enabled = page.locator("#key-table tbody tr", { hasText: "Enabled" }).locator("td[data-label=Name] a").first();
	await clickAndWait(enabled);
	for (const name of ["Edit", "Regenerate secret", "Revoke"])
		assert.equal(await page.getByRole("link", { name }).count(), 1, `${name} for the owner`);
	assert.equal(await page.getByRole("button", { name: "Disable" }).count(), 1);
});

test("walk: the header is compact on a phone", async () => {
	const viewport = page.viewportSize();
	try {
		for (const width of [390, 360]) {
			await page.setViewportSize({ width, height: 844 });
			await page.goto(base + "/w/1/keys");
			const header = await page.locator("header.top").boundingBox();
			assert.ok(header.height <= HEADER_MAX_PHONE,
				`the header is ${header.height} px tall at ${width} px (at most ${HEADER_MAX_PHONE})`);
			// Everything in it is still there to use: the sections, the account, signing out.
			for (const name of ["Dashboard", "API keys", "Roles", "Members", "Audit log", "New key"])
				assert.ok(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).isVisible());
			assert.ok(await page.getByRole("link", { name: /your account/ }).isVisible());
			assert.ok(await page.getByRole("button", { name: "Sign out" }).isVisible());
			await page.screenshot({ path: path.join(artifacts, `walk-header-${width}.png`) });
		}
	} finally {
		await page.setViewportSize(viewport);
	}
});

test("walk: the secret is shown whole at desktop and phone widths, and copies", async () => {
	await visit("/w/1/keys/new", "walk-new-key");
	await page.fill("#name", "Seen whole");
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	await checkPage("walk-secret");
	const token = await page.inputValue("#secret");
	assert.match(token, TOKEN);
	const viewport = page.viewportSize();
	try {
		for (const width of [1280, 390]) {
			await page.setViewportSize({ width, height: 844 });
			const field = await page.locator("#secret").evaluate((box) =>
				({ scrollWidth: box.scrollWidth, clientWidth: box.clientWidth, scrollHeight: box.scrollHeight,
					clientHeight: box.clientHeight }));
			assert.ok(field.scrollWidth <= field.clientWidth, `no sideways scrolling at ${width} px`);
			assert.ok(field.scrollHeight <= field.clientHeight + 1, `every line shows at ${width} px`);
			await page.screenshot({ path: path.join(artifacts, `walk-secret-${width}.png`) });
		}
	} finally {
		await page.setViewportSize(viewport);
	}
	if (javascript) {
		await page.getByRole("button", { name: "Copy" }).click();
		await page.getByText("Copied.").waitFor();
		assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token);
	} else {
		await page.click("#secret");
		await page.keyboard.press("Control+A");
		assert.equal(await page.locator("#secret").evaluate((box) =>
			box.value.slice(box.selectionStart, box.selectionEnd)), token);
	}
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	assert.match(page.url(), /\?done=created$/);
});

test("walk: the chart's labels do not overlap on a phone", async () => {
	const viewport = page.viewportSize();
	try {
		await page.setViewportSize({ width: 360, height: 800 });
		for (const address of [state.keyUrl + "/usage?period=24h", state.keyUrl + "/usage?period=7d",
			state.keyUrl + "/usage?period=30d", base + "/w/1/"]) {
			await page.goto(address);
			const boxes = await page.$$eval("figure.chart svg text", (texts) => texts
				.map((text) => ({ label: text.textContent, box: text.getBoundingClientRect() }))
				.filter((t) => t.box.width > 0 && t.box.height > 0));
			assert.ok(boxes.length >= 4, `labels are drawn (${boxes.length}) on ${address}`);
			for (let i = 0; i < boxes.length; i++)
				for (let j = i + 1; j < boxes.length; j++) {
					const a = boxes[i].box, b = boxes[j].box;
					const apart = a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
					assert.ok(apart, `"${boxes[i].label}" and "${boxes[j].label}" overlap on ${address}`);
				}
		}
		await page.screenshot({ path: path.join(artifacts, "walk-chart-phone.png"), fullPage: true });
	} finally {
		await page.setViewportSize(viewport);
	}
});

test("walk: every page links a favicon, and it is served", async () => {
	await page.goto(base + "/w/1/keys");
	const href = await page.getAttribute("link[rel=icon]", "href");
	assert.ok(href, "the layout links an icon");
	const icon = await fetch(new URL(href, base));
	assert.equal(icon.status, 200);
	assert.match(icon.headers.get("content-type"), /^image\/svg\+xml/);
	await page.goto(base + "/signin");
	assert.equal(await page.getAttribute("link[rel=icon]", "href"), href);
});

// ---- notes: notes, provenance, find by anything, new key like this ----
// Issue 15 items 3 to 5. Self-contained: signs in again (the tests above end signed out, with the
// password the account test set), makes its own keys, and leaves the browser signed in.

const notes = {}; // what one of these tests leaves for the next

async function notesSignIn() {
	await page.goto(base + "/w/1/keys");
	if (!/\/signin/.test(page.url()))
		return;
	await page.fill("#email", process.env.KW_EMAIL);
	await page.fill("#password", "a brand new passphrase"); // set by the account page's test
	await clickAndWait(page.getByRole("button", { name: "Sign in" }));
	assert.doesNotMatch(page.url(), /\/signin/);
}

test("notes: a note too long keeps every value and takes the focus; saved, it shows with who made the key", async () => {
	await notesSignIn();
	await visit("/w/1/keys/new", "notes-new-key");
	await page.fill("#name", "Ledger sync");
	await page.fill("#cidr-0", "198.51.100.0/24");
	await page.fill("#cidr-label-0", "Partner & co");
	await page.fill("#postback_url", "https://hooks.example.com/ledger");
	await page.check("#off_record");
	const tooLong = "é".repeat(1001);
	await page.fill("#note", tooLong);
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	await checkPage("notes-note-too-long");
	assert.equal(await page.textContent("#note-error"),
		"The note is too long: at most 1,000 characters (it has 1001).");
	assert.equal(await page.evaluate(() => document.activeElement.id), "note");
	assert.equal(await page.inputValue("#note"), tooLong);
	assert.equal(await page.inputValue("#name"), "Ledger sync");
	assert.equal(await page.inputValue("#cidr-label-0"), "Partner & co");
	assert.equal(await page.isChecked("#off_record"), true);
	await page.fill("#note", "Runs on ärger-7 <cron>\nOwner: Ops");
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	notes.token = await page.inputValue("#secret");
	notes.keyUrl = page.url().replace(/\/secret\?.*$/, "");
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	await checkPage("notes-key");
	assert.equal(await page.textContent("#key-note"), "Runs on ärger-7 <cron>\nOwner: Ops");
	assert.ok(await page.getByText(process.env.KW_EMAIL, { exact: true }).isVisible(), "created by the person");
});

test("notes: the Filter box finds a key by its note, its key ID and its secret's last 4", async () => {
	const keyId = notes.keyUrl.match(/key_[0-9A-Za-z]{16}/)[0];
	for (const [typed, name] of [["ÄRGER-7", "note"], [keyId.slice(-8).toLowerCase(), "key-id"],
		["…" + notes.token.slice(-4), "last-4"]]) {
		await visit("/w/1/keys", `notes-keys-${name}`);
		await page.fill("#q", typed);
		if (javascript) { // the live filter matches as the server will
			await page.getByText(/keys? on this page match/).waitFor();
			assert.ok(await page.locator(`#key-table tbody tr:visible a[href$="${keyId}"]`).count() === 1, name);
		}
		await clickAndWait(page.getByRole("button", { name: "Filter" }));
		assert.match(page.url(), /\/w\/1\/keys\?q=/);
		await checkPage(`notes-keys-filtered-${name}`);
		assert.equal(await page.locator(`#key-table tbody a[href$="${keyId}"]`).count(), 1, name);
	}
});

test("notes: a pasted secret opens its key without reaching the address; an unknown one says so", async () => {
	await visit("/w/1/keys", "notes-keys-find");
	await page.fill("#q", notes.token);
	await clickAndWait(page.getByRole("button", { name: "Filter" }));
	assert.equal(page.url(), notes.keyUrl + "?done=found");
	await checkPage("notes-found");
	assert.ok(await page.getByText("This is the key whose secret you pasted.").isVisible());
	const secret = notes.token.slice(-49, -6);
	const history = await page.evaluate(() => [location.href, document.referrer, history.length]);
	assert.ok(!history.slice(0, 2).some((address) => address.includes(secret)), "not in the address or referrer");

	// The same token with one secret character changed: its checksum no longer matches, and the
	// page says so without the text coming back, in the box or in the address.
	const flipped = notes.token.slice(0, 30) + (notes.token[30] === "A" ? "B" : "A") + notes.token.slice(31);
	await visit("/w/1/keys", "notes-keys-find-wrong");
	await page.fill("#q", flipped);
	await clickAndWait(page.getByRole("button", { name: "Filter" }));
	await checkPage("notes-not-found");
	assert.ok(!page.url().includes(flipped.slice(-49, -6)));
	assert.match(await page.textContent("#q-error"), /not a whole key of this server/);
	assert.equal(await page.inputValue("#q"), "");
	assert.equal(await page.evaluate(() => document.activeElement.id), "q");
});

test("notes: new key like this one starts from its role, networks, POSTback URL and settings", async () => {
	await visit(notes.keyUrl, "notes-key-like");
	await clickAndWait(page.getByRole("link", { name: "New key like this one" }));
	assert.match(page.url(), /\/w\/1\/keys\/new\?like=key_[0-9A-Za-z]{16}$/);
	await checkPage("notes-new-like");
	assert.equal(await page.inputValue("#name"), "");
	assert.equal(await page.inputValue("#note"), "");
	assert.equal(await page.inputValue("#cidr-0"), "198.51.100.0/24");
	assert.equal(await page.inputValue("#cidr-label-0"), "Partner & co");
	assert.equal(await page.inputValue("#postback_url"), "https://hooks.example.com/ledger");
	assert.equal(await page.isChecked("#off_record"), true);
	assert.equal(await page.isChecked("#enabled"), true);
	await page.fill("#name", "Ledger sync (rotated)");
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	await checkPage("notes-like-created");
	assert.ok(await page.getByRole("cell", { name: "Partner & co", exact: true }).isVisible());
});

// ---- lifecycle: roll with overlap, expiry ----
// Issue 15, items 1 and 2: a key made with an expiry (a past one first: refused, everything typed
// kept, the focus on the field), the list's "expires in" and its Expiring soon filter, the
// dashboard's warning; a roll with a 1-hour overlap during which both secrets pass the gatekeeper,
// the key page counting the calls made with the old one, and End overlap now. Runs last: the notes
// section above leaves the owner signed in; should a test before have left the browser signed out
// (with the password the account test set), these sign in again first.

// Sign in again if the tests before left the browser signed out (nothing to do when signed in); the
// account test changed the password.
async function lifecycleSignIn() {
	await page.goto(base + "/w/1/keys");
	for (const password of ["a brand new passphrase", process.env.KW_PASSWORD]) {
		if (!/\/signin/.test(page.url()))
			return;
		await page.fill("#email", process.env.KW_EMAIL);
		await page.fill("#password", password);
		await clickAndWait(page.getByRole("button", { name: "Sign in" }));
	}
	assert.doesNotMatch(page.url(), /\/signin/, "signed in again");
}

// A datetime-local value `days` days ahead of now, on the minute (UTC).
function lifecycleFieldTime(days) {
	const when = new Date(Date.now() + days * 86400000 + 90 * 60000);
	return when.toISOString().slice(0, 16);
}

// A call through the gatekeeper with `token`: its status and JSON code (or null).
async function lifecycleCall(token) {
	const response = await fetch(base + apiPrefix + "orders", { headers: { Authorization: "Bearer " + token } });
	const body = await response.text();
	return [response.status, response.status === 200 ? null : JSON.parse(body).code];
}

test("lifecycle: a key with an expiry; a past one is refused with every typed value kept", async () => {
	await lifecycleSignIn();
	await visit("/w/1/keys/new", "lifecycle-new-key");
	const past = lifecycleFieldTime(-2);
	await page.fill("#name", "Partner trial <i>β</i>");
	await page.fill("#cidr-0", "192.0.2.0/24");
	await page.fill("#cidr-label-0", "partner office");
	await page.fill("#expires_at", past);
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	await checkPage("lifecycle-expiry-error");
	assert.match(await page.textContent("#expires-error"), /The expiry must be in the future \(UTC\)/);
	assert.equal(await page.getAttribute("#expires_at", "aria-invalid"), "true");
	assert.equal(await page.locator('.error-summary a[href="#expires_at"]').count(), 1);
	assert.equal(await page.evaluate(() => document.activeElement.id), "expires_at");
	assert.equal(await page.inputValue("#expires_at"), past);
	assert.equal(await page.inputValue("#name"), "Partner trial <i>β</i>");
	assert.equal(await page.inputValue("#cidr-0"), "192.0.2.0/24");
	assert.equal(await page.inputValue("#cidr-label-0"), "partner office");

	// Now three days ahead, and no allowlist, so that the gatekeeper lets this machine's calls through.
	await page.fill("#cidr-0", "");
	await page.fill("#cidr-label-0", "");
	await page.fill("#expires_at", lifecycleFieldTime(3));
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	assert.match(page.url(), /\/keys\/key_[0-9A-Za-z]{16}\/secret\?done=created$/);
	state.lifecycleToken = await page.inputValue("#secret");
	assert.match(state.lifecycleToken, TOKEN);
	state.lifecycleUrl = page.url().replace(/\/secret\?.*$/, "");
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	await checkPage("lifecycle-key-expiring");
	assert.match(await page.locator("dl.facts").textContent(), /Expires\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC \(expires in 3 days\)/);

	await visit("/w/1/keys", "lifecycle-list");
	await page.selectOption("#status", "expiring");
	await clickAndWait(page.getByRole("button", { name: "Filter" }));
	await checkPage("lifecycle-list-expiring");
	assert.match(page.url(), /status=expiring/);
	const row = page.locator("#key-table tbody tr", { hasText: "Partner trial" });
	assert.equal(await row.count(), 1);
	assert.match(await row.textContent(), /expires in 3 days/);

	await visit("/w/1/", "lifecycle-dashboard");
	assert.match(await page.locator("#expiry-warning").textContent(), /\d+ keys? expires? within 7 days/);
	await clickAndWait(page.locator("#expiry-warning a").first());
	assert.match(page.url(), /\/w\/1\/keys\?status=expiring$/);
});

test("lifecycle: roll with a 1-hour overlap, both secrets pass, then End overlap now", async () => {
	const old = state.lifecycleToken;
	assert.deepEqual(await lifecycleCall(old), [200, null]);
	await visit(state.lifecycleUrl, "lifecycle-key");
	await clickAndWait(page.getByRole("link", { name: "Regenerate secret" }));
	await checkPage("lifecycle-regenerate");
	assert.equal(await page.isChecked("#overlap-0"), true, "no overlap unless chosen");
	await page.getByLabel("1 hour").check();
	await clickAndWait(page.getByRole("button", { name: /Regenerate/ }));
	await checkPage("lifecycle-rolled-secret");
	const fresh = await page.inputValue("#secret");
	assert.match(fresh, TOKEN);
	assert.notEqual(fresh, old);
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	assert.equal(page.url(), state.lifecycleUrl + "?done=rolled");

	// Both pass; the key page counts the old secret's calls of the last hour (written within a second or so).
	assert.deepEqual(await lifecycleCall(old), [200, null]);
	assert.deepEqual(await lifecycleCall(old), [200, null]);
	assert.deepEqual(await lifecycleCall(fresh), [200, null]);
	let text = "";
	for (let tries = 0; tries < 40 && !/2 calls used the previous secret/.test(text); tries++) {
		await new Promise((resolve) => setTimeout(resolve, 250));
		await page.goto(state.lifecycleUrl);
		text = (await page.locator("section.overlap").textContent()).replace(/\s+/g, " ");
	}
	assert.match(text, /stops working in (59 min|1 h)/);
	assert.match(text, /2 calls used the previous secret in the last hour/);
	await checkPage("lifecycle-overlap");

	let asked = null;
	page.once("dialog", async (dialog) => {
		asked = dialog.message();
		await dialog.accept();
	});
	await clickAndWait(page.getByRole("button", { name: "End overlap now" }));
	assert.equal(page.url(), state.lifecycleUrl + "?done=overlap-ended");
	if (javascript)
		assert.match(asked, /^Stop the previous secret …/);
	else
		assert.equal(asked, null);
	await checkPage("lifecycle-overlap-ended");
	assert.ok(await page.getByText("Overlap ended. The previous secret no longer works.").isVisible());
	assert.equal(await page.locator("section.overlap").count(), 0);
	assert.deepEqual(await lifecycleCall(old), [401, "invalid_key"]);
	assert.deepEqual(await lifecycleCall(fresh), [200, null]);
});

// ---- bulk: several keys at once, and the CSV export ----
// Issue 15, item 8: tick keys in the list and disable or revoke them together after one
// confirmation page (Cancel goes back with the filters and the ticks); the gatekeeper refuses them
// on the next call; Select all on this page (the server ticks every row without JavaScript, the
// page itself with it); an empty selection says what to do; Export CSV downloads the filtered list
// without a secret. Self-contained: signs in again if the tests above left the browser signed out.

const bulk = { tag: Math.random().toString(36).slice(2, 8), tokens: [] };

async function bulkCreate(name) {
	await page.goto(base + "/w/1/keys/new");
	await page.fill("#name", name);
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	const token = await page.inputValue("#secret");
	assert.match(token, TOKEN);
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	return token;
}

// The list filtered by this section's tag (through the Filter form, as a person would).
async function bulkList(name) {
	await page.goto(base + "/w/1/keys");
	await page.fill("#q", "Bulk " + bulk.tag);
	await clickAndWait(page.getByRole("button", { name: "Filter" }));
	assert.match(page.url(), new RegExp("q=Bulk(%20|\\+)" + bulk.tag));
	await checkPage(name);
}

// The gatekeeper's answer to `token`, waiting up to a second for `status` (another process changed the key).
async function bulkCall(token, status) {
	let answer = await lifecycleCall(token);
	for (let tries = 0; tries < 20 && answer[0] !== status; tries++) {
		await new Promise((resolve) => setTimeout(resolve, 50));
		answer = await lifecycleCall(token);
	}
	return answer;
}

test("bulk: two keys ticked, one confirmation, both disabled; the gatekeeper refuses them", async () => {
	await lifecycleSignIn();
	for (const letter of ["a", "b"])
		bulk.tokens.push(await bulkCreate(`Bulk ${bulk.tag} ${letter} <i>`));
	for (const token of bulk.tokens)
		assert.deepEqual(await bulkCall(token, 200), [200, null]);
	await bulkList("bulk-list");
	assert.equal(await page.locator('#key-table tbody input[type="checkbox"]').count(), 2);
	for (const letter of ["a", "b"])
		await page.getByLabel(new RegExp(`^Select Bulk ${bulk.tag} ${letter} <i>`)).check();
	if (javascript)
		assert.equal(await page.textContent("#bulk-count"), "2 keys selected");
	await clickAndWait(page.getByRole("button", { name: "Disable", exact: true }));
	assert.match(page.url(), /\/w\/1\/keys\/bulk\/disable\?/);
	await checkPage("bulk-disable-confirm");
	assert.equal(await page.textContent("h1"), "Disable 2 keys?");
	assert.equal(await page.locator("#bulk-keys tbody tr").count(), 2);
	assert.equal(await page.getByText("Will be disabled.").count(), 2);
	await clickAndWait(page.getByRole("button", { name: "Disable 2 keys" }));
	assert.match(page.url(), /\/w\/1\/keys\?.*done=bulk-disabled/);
	assert.match(page.url(), new RegExp("q=Bulk(%20|\\+)" + bulk.tag));
	await checkPage("bulk-disabled");
	assert.equal(await page.textContent(".notice"), "2 keys disabled. They stop working until they are enabled again.");
	assert.equal(await page.locator("#key-table .badge-disabled").count(), 2);
	for (const token of bulk.tokens)
		assert.deepEqual(await bulkCall(token, 401), [401, "disabled"]);
});

test("bulk: nothing ticked says so; Select all on this page; Cancel keeps the ticks; revoke after the warning", async () => {
	await bulkList("bulk-list-again");
	await clickAndWait(page.getByRole("button", { name: "Revoke", exact: true }));
	await checkPage("bulk-none");
	assert.match(await page.textContent("#bulk-error"), /^No key was selected, so nothing was changed\./);
	assert.match(page.url(), new RegExp("q=Bulk(%20|\\+)" + bulk.tag));

	const boxes = page.locator('#key-table tbody input[type="checkbox"]');
	if (javascript) {
		await page.getByRole("button", { name: "Select all on this page" }).click();
		assert.equal(await page.textContent("#bulk-count"), "2 keys selected");
		assert.ok(await page.getByRole("button", { name: "Clear the selection" }).isVisible());
	} else {
		await clickAndWait(page.getByRole("button", { name: "Select all on this page" }));
		assert.match(page.url(), /select=page/);
	}
	assert.deepEqual(await boxes.evaluateAll((all) => all.map((box) => box.checked)), [true, true]);

	await clickAndWait(page.getByRole("button", { name: "Revoke", exact: true }));
	await checkPage("bulk-revoke-confirm");
	assert.equal(await page.textContent("h1"), "Revoke 2 keys?");
	assert.match(await page.locator(".warning").first().textContent(), /Revoking is final\./);
	await clickAndWait(page.getByRole("link", { name: "Cancel" }));
	await checkPage("bulk-cancelled");
	assert.equal(await page.inputValue("#q"), "Bulk " + bulk.tag);
	assert.deepEqual(await boxes.evaluateAll((all) => all.map((box) => box.checked)), [true, true]);

	await clickAndWait(page.getByRole("button", { name: "Revoke", exact: true }));
	await clickAndWait(page.getByRole("button", { name: "Revoke 2 keys" }));
	await checkPage("bulk-revoked");
	assert.equal(await page.textContent(".notice"), "2 keys revoked. They no longer work, for good.");
	for (const token of bulk.tokens)
		assert.deepEqual(await bulkCall(token, 401), [401, "revoked"]);
});

test("bulk: Export CSV downloads every key the filters match, without a secret", async () => {
	await page.goto(base + `/w/1/keys?q=Bulk+${bulk.tag}&status=revoked`);
	await checkPage("bulk-export-list");
	const link = page.locator("#export-csv");
	assert.match(await link.getAttribute("href"), new RegExp(`^/w/1/keys\\.csv\\?q=Bulk%20${bulk.tag}&status=revoked&role=$`));
	const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
	assert.match(download.suggestedFilename(), /^keys-workspace-1-\d{8}-\d{4}Z\.csv$/);
	const text = readFileSync(await download.path(), "utf8");
	const lines = text.split("\r\n");
	assert.equal(lines[0], "key_id,name,role,status,enabled,off_the_record,postback_url,networks,note,created_by," +
		"created_at,last_used_at,expires_at,revoked_at");
	assert.equal(lines.filter((line) => line.includes(`Bulk ${bulk.tag}`)).length, 2);
	assert.ok(lines.slice(1, 3).every((line) => line.includes(",revoked,")), text);
	for (const token of bulk.tokens)
		assert.ok(!text.includes(token.slice(-49)) && !text.includes(token.slice(-4)), "no secret in the export");
});

// ---- allowlist: the Allowlist tab, its switch, one network added and removed ----
// Issue 15, item 6. A key limited to a network this machine is not in is refused by the
// gatekeeper; on its Allowlist tab a bad network is refused with the typed values kept and the
// focus on the field, a good one is added; the switch lets any address through (the key page and
// the list say so) and restores the restriction; Remove takes one network away. The forms work
// with JavaScript off; with it on, switching off and removing ask first. Self-contained: signs in
// again if the tests before left the browser signed out.

async function allowlistSignIn() {
	await page.goto(base + "/w/1/keys");
	for (const password of ["a brand new passphrase", process.env.KW_PASSWORD]) {
		if (!/\/signin/.test(page.url()))
			return;
		await page.fill("#email", process.env.KW_EMAIL);
		await page.fill("#password", password);
		await clickAndWait(page.getByRole("button", { name: "Sign in" }));
	}
	assert.doesNotMatch(page.url(), /\/signin/, "signed in again");
}

// The gatekeeper's answer to `token` from this machine, [status, code]; `want` is waited for up to
// a second and a half (on PostgreSQL a change reaches the gatekeeper within the README's 1 s).
async function allowlistCall(token, want) {
	let answer;
	for (const started = Date.now(); ;) {
		const response = await fetch(base + apiPrefix + "allowlist", { headers: { Authorization: "Bearer " + token } });
		const body = await response.text();
		answer = [response.status, response.status === 200 ? null : JSON.parse(body).code];
		if (answer[0] === want || Date.now() - started > 1500)
			return answer;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

// Click a form's button that may ask first (data-confirm): accept, and return the question (null
// with JavaScript off, where nothing asks).
async function allowlistConfirmAndClick(locator) {
	let asked = null;
	const answer = async (dialog) => {
		asked = dialog.message();
		await dialog.accept();
	};
	page.once("dialog", answer);
	await clickAndWait(locator);
	page.off("dialog", answer);
	return asked;
}

test("allowlist: the tab lists the networks; a bad one is refused with what was typed kept, a good one added", async () => {
	await allowlistSignIn();
	await visit("/w/1/keys/new", "allowlist-new-key");
	await page.fill("#name", "Partner feed <β>");
	await page.fill("#cidr-0", "192.0.2.0/24");
	await page.fill("#cidr-label-0", "Partner & <office>");
	await clickAndWait(page.getByRole("button", { name: "Create key" }));
	state.allowlistToken = await page.inputValue("#secret");
	assert.match(state.allowlistToken, TOKEN);
	state.allowlistUrl = page.url().replace(/\/secret\?.*$/, "");
	await page.check("#copied");
	await clickAndWait(page.getByRole("button", { name: "Close" }));
	assert.deepEqual(await allowlistCall(state.allowlistToken, 403), [403, "ip_not_allowed"]);

	await clickAndWait(page.getByRole("link", { name: "Allowlist", exact: true }));
	assert.equal(page.url(), state.allowlistUrl + "/allowlist");
	await checkPage("allowlist-tab");
	assert.equal(await page.locator("nav.tabs a[aria-current=page]").textContent(), "Allowlist");
	const rows = page.locator("#allowlist-networks tbody tr");
	assert.equal(await rows.count(), 1);
	assert.match(await rows.first().textContent(), /192\.0\.2\.0\/24\s*Partner & <office>/);

	await page.fill("#add-cidr", "10.1.2.3/8");
	await page.fill("#add-label", "Build <box>");
	await clickAndWait(page.getByRole("button", { name: "Add network" }));
	await checkPage("allowlist-add-error");
	assert.equal(await page.textContent("#add-cidr-error"), "10.1.2.3/8 has bits set past its prefix; did you mean 10.0.0.0/8?");
	assert.equal(await page.getAttribute("#add-cidr", "aria-invalid"), "true");
	assert.equal(await page.evaluate(() => document.activeElement.id), "add-cidr");
	assert.equal(await page.inputValue("#add-cidr"), "10.1.2.3/8");
	assert.equal(await page.inputValue("#add-label"), "Build <box>");
	assert.equal(await page.locator('.error-summary a[href="#add-cidr"]').count(), 1);

	await page.fill("#add-cidr", "198.51.100.0/24");
	await clickAndWait(page.getByRole("button", { name: "Add network" }));
	assert.equal(page.url(), state.allowlistUrl + "/allowlist?done=network-added");
	await checkPage("allowlist-added");
	assert.ok(await page.getByText("Network added.").isVisible());
	assert.equal(await rows.count(), 2);
	assert.match(await rows.nth(1).textContent(), /198\.51\.100\.0\/24\s*Build <box>/);
});

test("allowlist: switched off, any address passes and the pages say so; switched on, the restriction is back", async () => {
	await visit(state.allowlistUrl + "/allowlist", "allowlist-before-off");
	const asked = await allowlistConfirmAndClick(page.getByRole("button", { name: "Switch the allowlist off" }));
	if (javascript)
		assert.match(asked, /^Switch the allowlist of “Partner feed <β>” off\? Any address may use the key/);
	else
		assert.equal(asked, null);
	assert.equal(page.url(), state.allowlistUrl + "/allowlist?done=allowlist-off");
	await checkPage("allowlist-off");
	assert.match(await page.textContent("#allowlist-off"), /Off: any address may use this key\./);
	assert.equal(await page.locator("#allowlist-networks tbody tr").count(), 2, "the networks are kept");
	assert.deepEqual(await allowlistCall(state.allowlistToken, 200), [200, null]);

	await visit(state.allowlistUrl, "allowlist-off-key");
	assert.match(await page.textContent("#allowlist-off"), /Allowlist switched off: any address may use this key\./);
	await visit("/w/1/keys", "allowlist-off-list");
	const row = page.locator("#key-table tbody tr", { hasText: "Partner feed <β>" });
	assert.match(await row.textContent(), /Allowlist off: any address may use it/);

	await visit(state.allowlistUrl + "/allowlist", "allowlist-before-on");
	await clickAndWait(page.getByRole("button", { name: "Switch the allowlist on" }));
	assert.equal(page.url(), state.allowlistUrl + "/allowlist?done=allowlist-on");
	await checkPage("allowlist-on");
	assert.ok(await page.getByText("Allowlist switched on. Only addresses in its networks may use this key.").isVisible());
	assert.equal(await page.locator("#allowlist-off").count(), 0);
	assert.deepEqual(await allowlistCall(state.allowlistToken, 403), [403, "ip_not_allowed"]);
});

test("allowlist: Remove takes one network away, the others stay", async () => {
	await visit(state.allowlistUrl + "/allowlist", "allowlist-before-remove");
	const row = page.locator("#allowlist-networks tbody tr", { hasText: "198.51.100.0/24" });
	const asked = await allowlistConfirmAndClick(row.getByRole("button", { name: "Remove 198.51.100.0/24" }));
	if (javascript)
		assert.equal(asked, "Remove 198.51.100.0/24 (Build <box>) from the allowlist of “Partner feed <β>”?");
	else
		assert.equal(asked, null);
	assert.equal(page.url(), state.allowlistUrl + "/allowlist?done=network-removed");
	await checkPage("allowlist-removed");
	assert.ok(await page.getByText("Network removed.").isVisible());
	const rows = page.locator("#allowlist-networks tbody tr");
	assert.equal(await rows.count(), 1);
	assert.match(await rows.first().textContent(), /192\.0\.2\.0\/24/);
	assert.deepEqual(await allowlistCall(state.allowlistToken, 403), [403, "ip_not_allowed"]);
});

// ---- scale: the key list pages on from a key (Older / Newer) ----
// Issue 15, item 12. Runs last: signs in again if a test before left the browser signed out, then
// makes 51 keys named alike through the new-key form's POST, sent from here with the browser's
// session cookie and the form's CSRF token (filling the form 51 times would take minutes), so
// that a filter for them holds more than a page; then pages Older and Newer with the links.

test("scale: Older and Newer page on from a key, with the filter kept, and each key shows once", async () => {
	await lifecycleSignIn();
	await visit("/w/1/keys/new", "scale-new-key");
	const csrf = await page.inputValue("input[name=csrf]");
	const role = await page.locator("#role option").first().getAttribute("value");
	const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join("; ");
	for (let i = 0; i < 51; i++) {
		const body = new URLSearchParams({ csrf, action: "save", name: `Paged key ${String(i).padStart(2, "0")}`,
			role, postback_url: "", enabled: "1" });
		const response = await fetch(base + "/w/1/keys/new", { method: "POST", body, redirect: "manual",
			headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" } });
		assert.equal(response.status, 303, `key ${i} made`);
	}
	const listed = () => page.locator("#key-table tbody code").allTextContents();
	await visit("/w/1/keys?q=paged+key", "scale-newest");
	const newest = await listed();
	assert.equal(newest.length, 50);
	assert.equal(await page.locator("#key-count").textContent(), "The 50 newest of more than 50 keys");
	assert.equal(await page.getByRole("link", { name: "← Newer" }).count(), 0, "the newest page has no Newer");

	await clickAndWait(page.getByRole("link", { name: "Older →" }));
	await checkPage("scale-older");
	const address = new URL(page.url()).searchParams;
	assert.equal(address.get("q"), "paged key", "the filter is kept");
	assert.equal(address.get("before"), newest[49], "from the last key shown on");
	const older = await listed();
	assert.equal(older.length, 1);
	assert.ok(!newest.includes(older[0]), "a key shows once");
	assert.equal(await page.locator("#key-count").textContent(), "1 key on this page");
	assert.equal(await page.locator("#q").inputValue(), "paged key");
	assert.equal(await page.getByRole("link", { name: "Older →" }).count(), 0, "nothing older");

	await clickAndWait(page.getByRole("link", { name: "← Newer" }));
	await checkPage("scale-newer");
	assert.deepEqual(await listed(), newest, "back to the same newest page");
	assert.equal(await page.getByRole("link", { name: "← Newer" }).count(), 0);
	// An address with a cursor that names no key: the first page, quietly.
	await visit("/w/1/keys?q=paged+key&before=key_nosuchkeyatall00", "scale-bad-cursor");
	assert.deepEqual(await listed(), newest);
	assert.equal(await page.locator(".field-error").count(), 0);
});
