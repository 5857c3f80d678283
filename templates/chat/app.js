// mistral-sov chat page: talks only to this server (Content-Security-Policy connect-src 'self',
// plus the identity provider's token endpoint when single sign-on is configured).
// Text is always inserted with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, messages: [], token: sessionStorage.getItem("msov.token") || "" };

function showError(text) {
  const el = $("error");
  el.textContent = text;
  el.hidden = !text;
}

function b64url(bytes) {
  let s = "";
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  const a = new Uint8Array(32);
  crypto.getRandomValues(a);
  return b64url(a);
}

function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch (e) {
    return {};
  }
}

function redirectUri() {
  return location.origin + "/";
}

async function signIn() {
  const oidc = state.info.auth;
  const verifier = randomString();
  const stateValue = randomString();
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem("msov.pkce", JSON.stringify({ verifier, state: stateValue }));
  const url = new URL(oidc.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: oidc.client_id,
    redirect_uri: redirectUri(),
    scope: oidc.scope,
    state: stateValue,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function finishSignIn(params) {
  const saved = JSON.parse(sessionStorage.getItem("msov.pkce") || "{}");
  sessionStorage.removeItem("msov.pkce");
  history.replaceState(null, "", "/");
  if (!saved.state || saved.state !== params.get("state")) {
    showError("Sign-in failed: the answer from the identity provider does not match this page's request.");
    return;
  }
  const oidc = state.info.auth;
  const response = await fetch(oidc.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: oidc.client_id,
      code_verifier: saved.verifier,
    }).toString(),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok || !data.access_token) {
    showError("Sign-in failed: " + (data.error_description || data.error || response.status));
    return;
  }
  state.token = data.access_token;
  sessionStorage.setItem("msov.token", state.token);
}

function renderAuth() {
  const auth = state.info.auth;
  $("auth").hidden = auth.mode === "none";
  $("key-label").hidden = auth.mode !== "api-key";
  const oidc = auth.mode === "oidc";
  const claims = state.token ? tokenClaims(state.token) : {};
  const user = claims.preferred_username || claims.upn || claims.unique_name || claims.sub || "";
  $("who").textContent = oidc ? (user ? "Signed in as " + user : "Not signed in") : "";
  $("signin").hidden = !oidc || !!user || !auth.client_id;
  $("signout").hidden = !oidc || !user;
}

function renderInfo() {
  const info = state.info;
  if (info.organization) $("org").textContent = info.organization + ": local AI assistant";
  $("model-name").textContent = info.model.name;
  $("model-license").textContent = info.model.license || "not declared";
  const sha = $("model-sha").firstElementChild;
  sha.textContent = info.model.sha256;
  $("model-sealed").textContent = info.model.sealed
    ? "sealed at rest (decrypted in memory only), SHA-256 verified"
    : "SHA-256 verified at start";
  const status = $("status");
  status.textContent = info.sovereignty.summary;
  status.classList.toggle("warn", !info.sovereignty.local_only);
  renderAuth();
}

function authHeaders() {
  const key = state.info.auth.mode === "api-key" ? $("key").value.trim() : state.token;
  return key ? { Authorization: "Bearer " + key } : {};
}

function addEntry(role, text) {
  const li = document.createElement("li");
  li.className = role;
  li.textContent = text;
  $("log").appendChild(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

async function ask(event) {
  event.preventDefault();
  const prompt = $("prompt").value.trim();
  if (!prompt) return;
  showError("");
  $("send").disabled = true;
  $("prompt").value = "";
  addEntry("user", prompt);
  state.messages.push({ role: "user", content: prompt });
  const answer = addEntry("assistant streaming", "");
  let text = "";
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: Object.assign({ "Content-Type": "application/json" }, authHeaders()),
      body: JSON.stringify({ model: state.info.model.name, messages: state.messages, stream: true }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const message = (body.error && body.error.message) || "HTTP " + response.status;
      if (response.status === 401 && state.info.auth.mode === "oidc") {
        state.token = "";
        sessionStorage.removeItem("msov.token");
        renderAuth();
      }
      throw new Error(message);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          const chunk = JSON.parse(data);
          if (chunk.error) throw new Error(chunk.error.message || "the model stopped with an error");
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) {
            text += delta.content;
            answer.textContent = text;
          }
        }
      }
    }
    state.messages.push({ role: "assistant", content: text });
  } catch (e) {
    showError(String(e.message || e));
    state.messages.pop();
  } finally {
    answer.classList.remove("streaming");
    answer.dataset.done = "true";
    $("send").disabled = false;
  }
}

async function main() {
  $("ask").addEventListener("submit", ask);
  $("signin").addEventListener("click", () => signIn().catch((e) => showError(String(e))));
  $("signout").addEventListener("click", () => {
    state.token = "";
    sessionStorage.removeItem("msov.token");
    renderAuth();
  });
  const response = await fetch("/chat/info");
  state.info = await response.json();
  const params = new URLSearchParams(location.search);
  if (state.info.auth.mode === "oidc" && params.has("code")) await finishSignIn(params);
  renderInfo();
  document.body.dataset.ready = "true";
}

main().catch((e) => showError("This page could not load the assistant's details: " + e));
