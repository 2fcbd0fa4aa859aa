// The ledger explorer: hash routes, each a read of the /v1 API with the user's token.
// The DOM is built with textContent only (never innerHTML), so ledger data - ids,
// labels, metadata - can never become markup.

const TOKEN_KEY = "ledger.explorer.token";
const EVENTS_POLL_MS = 2000;
const view = document.getElementById("view");
let stopPolling = () => {};

// --- the API ----------------------------------------------------------------------

class Problem extends Error {
  constructor(status, body) {
    super(body.detail || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || `http_${status}`;
  }
}

async function api(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { headers, credentials: "omit" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

// --- DOM helpers ------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const enc = encodeURIComponent;
const link = (hash, text) => el("a", { href: hash }, text);
const accountLink = (id) => link(`#/account/${enc(id)}`, id);
const transferLink = (id) => link(`#/transfer/${enc(id)}`, id);
const transactionLink = (id) => link(`#/transaction/${enc(id)}`, id);
const status = (value) => el("span", { class: `status-${value}` }, value);
const labelText = (labels) =>
  Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "—";

function fields(pairs) {
  return el("dl", { class: "fields" },
    pairs.filter(([, v]) => v !== undefined).flatMap(([name, value]) => [
      el("dt", {}, name), el("dd", {}, value === null ? "—" : value)]));
}

function table(columns, rows, empty = "Nothing here.") {
  if (!rows.length) return el("p", { class: "muted" }, empty);
  return el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, columns.map(([title]) => el("th", {}, title)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map(([, cell, numeric]) =>
      el("td", numeric ? { class: "num" } : {}, cell(row))))))));
}

function show(title, ...content) {
  document.title = `${title} · Ledger explorer`;
  view.replaceChildren(el("h1", {}, title), ...content);
}

function showError(error) {
  const hint = error.status === 401 || error.status === 403
    ? " Paste a token with the ledger.read scope above." : "";
  view.append(el("p", { class: "error", role: "alert" },
    `${error.status || ""} ${error.code || ""}: ${error.message}.${hint}`));
}

function queryOf(hash) {
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

// --- pages ------------------------------------------------------------------------

async function accountsPage(query) {
  const label = query.get("label") || "";
  const search = el("form", { class: "inline", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    const id = data.get("id").trim();
    location.hash = id ? `#/account/${enc(id)}` : `#/accounts?label=${enc(data.get("label").trim())}`;
  } },
  el("label", {}, "Account id", el("input", { name: "id", placeholder: "alice" })),
  el("label", {}, "or label KEY=VALUE",
    el("input", { name: "label", value: label, placeholder: "customer=c-1042" })),
  el("button", { type: "submit" }, "Search"));
  show("Accounts", el("section", {}, search));
  const params = { page_size: 50, page_token: query.get("page_token") };
  if (label) {
    const [key, ...rest] = label.split("=");
    params[`label.${key}`] = rest.join("=");
  }
  const page = await api("/v1/accounts", params);
  view.append(el("section", {}, table([
    ["Id", (a) => accountLink(a.id)], ["Currency", (a) => a.currency],
    ["Status", (a) => status(a.status)], ["Balance", (a) => a.balance, true],
    ["Available", (a) => a.available_balance, true], ["Labels", (a) => labelText(a.labels)],
  ], page.items, "No accounts match."), nextLink("#/accounts", query, page.next_page_token)));
}

function nextLink(base, query, token) {
  if (!token) return null;
  const next = new URLSearchParams(query);
  next.set("page_token", token);
  return el("p", {}, link(`${base}?${next}`, "Next page →"));
}

async function accountPage(id, query) {
  const asOf = query.get("as_of") || "";
  show(`Account ${id}`);
  const account = await api(`/v1/accounts/${enc(id)}`);
  view.append(el("section", {}, fields([
    ["Currency", account.currency], ["Status", status(account.status)],
    ["Balance", account.balance], ["Available balance", account.available_balance],
    ["Debits posted", account.debits_posted], ["Credits posted", account.credits_posted],
    ["Debits pending", account.debits_pending], ["Credits pending", account.credits_pending],
    ["Labels", labelText(account.labels)], ["Opened", account.created_at],
  ])));
  const asOfForm = el("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    location.hash = `#/account/${enc(id)}?as_of=${enc(new FormData(event.target).get("as_of"))}`;
  } }, el("label", {}, "Balance as of (RFC 3339)",
    el("input", { name: "as_of", value: asOf, placeholder: "2026-12-01T00:00:00Z" })),
  el("button", { type: "submit" }, "Show"));
  const past = el("section", { id: "as-of" }, el("h2", {}, "Balance at an instant"), asOfForm);
  view.append(past);
  if (asOf) {
    const at = await api(`/v1/accounts/${enc(id)}`, { as_of: asOf }).catch((e) => e);
    past.append(at instanceof Error ? el("p", { class: "error" }, at.message)
      : fields([["As of", at.as_of], ["Existed", String(at.existed)], ["Balance", at.balance],
        ["Entries then", at.sequence]]));
  }
  view.append(statementSection(id, query));
  const entries = await api(`/v1/accounts/${enc(id)}/entries`,
    { page_size: 50, page_token: query.get("page_token") });
  view.append(el("section", { id: "history" }, el("h2", {}, "History (newest first)"), table([
    ["#", (e) => e.sequence, true], ["Posted at", (e) => e.posted_at], ["Kind", (e) => e.kind],
    ["Amount", (e) => e.amount, true], ["Pending", (e) => e.pending_amount, true],
    ["Balance after", (e) => e.balance_after, true],
    ["Transfer", (e) => transferLink(e.transfer_id)],
  ], entries.items, "No entries yet."),
  nextLink(`#/account/${enc(id)}`, query, entries.next_page_token)));
}

function statementSection(id, query) {
  const from = query.get("from") || "";
  const to = query.get("to") || "";
  const form = el("form", { class: "inline", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    location.hash = `#/account/${enc(id)}?from=${enc(data.get("from"))}&to=${enc(data.get("to"))}`;
  } },
  el("label", {}, "From (RFC 3339)", el("input", { name: "from", value: from,
    placeholder: "2026-11-01T00:00:00Z", required: "" })),
  el("label", {}, "To (empty: now)", el("input", { name: "to", value: to })),
  el("button", { type: "submit" }, "Statement"));
  const section = el("section", { id: "statement" }, el("h2", {}, "Statement"), form);
  if (from) {
    api(`/v1/accounts/${enc(id)}/statement`, { from, to }).then((s) => section.append(fields([
      ["From", s.from], ["To", s.to], ["Opening balance", s.opening_balance],
      ["Debits", s.debits], ["Credits", s.credits], ["Closing balance", s.closing_balance],
      ["Entries", s.entry_count]])),
    (e) => section.append(el("p", { class: "error" }, e.message)));
  }
  return section;
}

function transferFields(t) {
  return fields([
    ["Status", status(t.status)], ["Amount", t.amount], ["Currency", t.currency],
    ["Debit account", accountLink(t.debit_account_id)],
    ["Credit account", accountLink(t.credit_account_id)],
    ["Created", t.created_at], ["Hold", t.pending ? "yes" : "no"],
    ["Expires", t.expires_at], ["Posted amount", t.posted_amount], ["Resolved", t.resolved_at],
    ["Reverses", t.reverses_transfer_id ? transferLink(t.reverses_transfer_id) : null],
    ["Reversed amount", t.reversed_amount],
    ["Transaction", t.transaction_id ? transactionLink(t.transaction_id) : null],
    ["Labels", labelText(t.labels)],
  ]);
}

async function transferPage(id) {
  show(`Transfer ${id}`);
  const transfer = await api(`/v1/transfers/${enc(id)}`);
  view.append(el("section", {}, transferFields(transfer)));
  if (transfer.reversed_amount > 0) {
    // Reversals credit the original's debit account: look among that account's transfers.
    const page = await api("/v1/transfers", { account_id: transfer.debit_account_id, page_size: 100 });
    const reversals = page.items.filter((t) => t.reverses_transfer_id === id);
    view.append(el("section", { id: "reversed-by" }, el("h2", {}, "Reversed by"),
      table([["Id", (t) => transferLink(t.id)], ["Amount", (t) => t.amount, true],
        ["Created", (t) => t.created_at]], reversals, "Not among its account's newest 100.")));
  }
}

async function transactionPage(id) {
  show(`Transaction ${id}`);
  const tx = await api(`/v1/transactions/${enc(id)}`);
  view.append(el("section", {}, fields([
    ["Status", status(tx.status)], ["Pending", tx.pending ? "yes" : "no"],
    ["Created", tx.created_at], ["Expires", tx.expires_at], ["Resolved", tx.resolved_at],
    ["Reverses", tx.reverses_transaction_id ? transactionLink(tx.reverses_transaction_id) : null],
    ["Reversed by",
      tx.reversed_by_transaction_id ? transactionLink(tx.reversed_by_transaction_id) : null],
    ["Labels", labelText(tx.labels)],
  ])), el("section", { id: "legs" }, el("h2", {}, "Legs"), table([
    ["Leg", (t) => transferLink(t.id)], ["Debit", (t) => accountLink(t.debit_account_id)],
    ["Credit", (t) => accountLink(t.credit_account_id)], ["Amount", (t) => t.amount, true],
    ["Status", (t) => status(t.status)],
  ], tx.legs)));
}

function eventTarget(event) {
  const data = event.data || {};
  if (event.type.startsWith("transfer.") && data.id) return transferLink(data.id);
  if (event.type.startsWith("transaction.") && data.id) return transactionLink(data.id);
  if (event.type.startsWith("account.") && data.id) return accountLink(data.id);
  return data.id || "—";
}

async function eventsPage() {
  const state = el("p", { class: "muted", id: "events-state" }, "Loading…");
  const body = el("tbody");
  show("Events", el("section", {}, state, el("div", { class: "table-wrap" }, el("table", {},
    el("thead", {}, el("tr", {}, ["Occurred at", "Type", "Resource", "Accounts", "Id"]
      .map((t) => el("th", {}, t)))), body))));
  let cursor = null;
  let timer = null;
  let stopped = false;
  stopPolling = () => { stopped = true; clearTimeout(timer); };
  const poll = async () => {
    try {
      const page = await api("/v1/events", { after: cursor, limit: 100 });
      for (const event of page.items) {
        body.prepend(el("tr", { "data-event-id": event.id }, el("td", {}, event.occurred_at),
          el("td", {}, event.type), el("td", {}, eventTarget(event)),
          el("td", {}, event.account_ids.map((a, i) => [i ? ", " : "", accountLink(a)])),
          el("td", {}, event.id)));
      }
      cursor = page.next_cursor;
      state.textContent = `Complete until ${page.complete_until || "—"}; polling every ${EVENTS_POLL_MS / 1000} s.`;
    } catch (error) {
      state.textContent = `${error.status || ""} ${error.code || ""}: ${error.message}`;
      state.className = "error";
    }
    if (!stopped) timer = setTimeout(poll, EVENTS_POLL_MS);
  };
  await poll();
}

// --- routing ----------------------------------------------------------------------

const ROUTES = [
  [/^#\/account\/([^?]+)/, (m, q) => accountPage(decodeURIComponent(m[1]), q)],
  [/^#\/transfer\/([^?]+)/, (m) => transferPage(decodeURIComponent(m[1]))],
  [/^#\/transaction\/([^?]+)/, (m) => transactionPage(decodeURIComponent(m[1]))],
  [/^#\/events/, () => eventsPage()],
  [/^/, (m, q) => accountsPage(q)],
];

async function route() {
  stopPolling();
  stopPolling = () => {};
  const hash = location.hash || "#/accounts";
  const section = hash.startsWith("#/events") ? "events" : "accounts";
  for (const a of document.querySelectorAll("nav a")) {
    a.classList.toggle("active", a.dataset.nav === section);
  }
  for (const [pattern, page] of ROUTES) {
    const match = hash.match(pattern);
    if (match) {
      try {
        await page(match, queryOf(hash));
      } catch (error) {
        showError(error);
      }
      return;
    }
  }
}

function setUpToken() {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  input.value = sessionStorage.getItem(TOKEN_KEY) || "";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    route();
  });
  document.getElementById("token-clear").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    input.value = "";
    route();
  });
}

setUpToken();
window.addEventListener("hashchange", route);
route();
