/*
 * keyward.js: small conveniences on top of pages that work without it (no framework, no build).
 * Every page is complete without JavaScript; this file only adds:
 *   - a Copy button beside the fields marked data-copy (a new key's secret, an invitation link);
 *   - a confirmation before the forms marked data-confirm are sent (disabling a key, ...);
 *   - live filtering of the key list as the name is typed (the Filter button still asks the server,
 *     which searches every page, not just this one);
 *   - on the key list, "Select all on this page" ticks the rows shown without a reload (and clears
 *     them again), and a count says how many keys are selected.
 * The Content-Security-Policy allows scripts from 'self' only: nothing here is inline.
 */
(function () {
	"use strict";

	/* Copy: the Clipboard API where the browser allows it, else the selection and execCommand. */
	function copyField(field, button, status) {
		function done(ok) {
			status.textContent = ok ? "Copied." : "Press Ctrl+C (⌘C) to copy: the text is selected.";
			button.textContent = ok ? "Copied" : "Copy";
			if (ok)
				window.setTimeout(function () { button.textContent = "Copy"; }, 2500);
		}
		field.focus();
		field.select();
		if (navigator.clipboard && window.isSecureContext) {
			navigator.clipboard.writeText(field.value).then(function () { done(true); },
				function () { done(legacyCopy()); });
		} else {
			done(legacyCopy());
		}
	}

	function legacyCopy() {
		try {
			return document.execCommand("copy");
		} catch (error) {
			return false;
		}
	}

	function addCopyButtons() {
		var fields = document.querySelectorAll("[data-copy]");
		Array.prototype.forEach.call(fields, function (field) {
			var button = document.createElement("button");
			button.type = "button";
			button.className = "button button-secondary copy-button";
			button.textContent = "Copy";
			button.setAttribute("aria-describedby", field.id);
			var status = document.createElement("p");
			status.className = "hint copy-status";
			status.setAttribute("role", "status");
			status.id = field.id + "-copy-status";
			button.addEventListener("click", function () { copyField(field, button, status); });
			field.insertAdjacentElement("afterend", button);
			button.insertAdjacentElement("afterend", status);
		});
	}

	/* Confirm: forms with data-confirm="question" ask first; declining sends nothing. */
	function addConfirmations() {
		var forms = document.querySelectorAll("form[data-confirm]");
		Array.prototype.forEach.call(forms, function (form) {
			form.addEventListener("submit", function (event) {
				if (!window.confirm(form.getAttribute("data-confirm")))
					event.preventDefault();
			});
		});
	}

	/*
	 * Live filter: rows of table[data-live-filter] that the server's filter would leave out hide:
	 * a row matches when its name or note (data-filter-text) holds the typed text, its key ID holds
	 * it (4 characters or more), or its secret's last 4 characters are it ("…" before or not).
	 */
	function fold(text) {
		return text.toLocaleLowerCase();
	}

	function rowMatches(row, wanted) {
		var text = fold(row.getAttribute("data-filter-text") || "");
		var id = fold(row.getAttribute("data-filter-id") || "");
		var hint = fold(row.getAttribute("data-filter-hint") || "");
		var last4 = wanted.replace(/^(…|\.+)/, "");
		return text.indexOf(wanted) !== -1 || (Array.from(wanted).length >= 4 && id.indexOf(wanted) !== -1) ||
			(hint !== "" && last4 === hint);
	}

	function addLiveFilter() {
		var input = document.querySelector("input[data-live-filter]");
		var table = input && document.getElementById(input.getAttribute("data-live-filter"));
		if (!table)
			return;
		var rows = table.tBodies[0] ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
		var status = document.createElement("p");
		status.className = "count live-count";
		status.setAttribute("role", "status");
		status.setAttribute("aria-live", "polite");
		table.parentNode.insertAdjacentElement("beforebegin", status);
		input.addEventListener("input", function () {
			var wanted = fold(input.value.trim());
			var shown = 0;
			rows.forEach(function (row) {
				var match = wanted === "" || rowMatches(row, wanted);
				row.hidden = !match;
				if (match)
					shown++;
			});
			status.textContent = wanted === "" ? "" :
				shown + " of " + rows.length + " keys on this page match; press Filter to search every page.";
		});
	}

	/*
	 * Several keys at once: the list's Select all button (without JavaScript it asks the server for
	 * the page with every row ticked) ticks the rows the live filter shows, or clears them all
	 * when they are ticked already; the count beside it follows every tick.
	 */
	function addBulkSelection() {
		var form = document.getElementById("bulk");
		var button = document.getElementById("select-page");
		var count = document.getElementById("bulk-count");
		var table = document.getElementById("key-table");
		if (!form || !button || !count || !table)
			return;
		var boxes = Array.prototype.slice.call(table.querySelectorAll('tbody input[type="checkbox"][name="key"]'));
		function shown() {
			return boxes.filter(function (box) { return !box.closest("tr").hidden; });
		}
		function update() {
			var ticked = boxes.filter(function (box) { return box.checked; }).length;
			var visible = shown();
			var all = visible.length > 0 && visible.every(function (box) { return box.checked; });
			count.textContent = ticked === 0 ? "" : ticked + (ticked === 1 ? " key selected" : " keys selected");
			button.textContent = all ? "Clear the selection" : "Select all on this page";
		}
		button.addEventListener("click", function (event) {
			event.preventDefault();
			var visible = shown();
			var all = visible.length > 0 && visible.every(function (box) { return box.checked; });
			(all ? boxes : visible).forEach(function (box) { box.checked = !all; });
			update();
		});
		table.addEventListener("change", update);
		var filter = document.querySelector("input[data-live-filter]");
		if (filter)
			filter.addEventListener("input", update);
		update();
	}

	document.addEventListener("DOMContentLoaded", function () {
		document.documentElement.classList.add("js");
		addCopyButtons();
		addConfirmations();
		addLiveFilter();
		addBulkSelection();
	});
})();
