// Gatehouse passkeys: the only script of the pages, for what only
// JavaScript can do (navigator.credentials). It talks to the JSON API of
// the same origin:
//   /login:            "Sign in with a passkey" (POST /v1/login/passkey/begin, finish)
//   /account/passkeys: "Add a passkey" (POST /v1/passkeys/register/begin, finish)
//   /reauth:           "Use your passkey" (POST /v1/reauth/passkey/begin, finish)
// WebAuthn's JSON forms carry binary fields as base64url; the browser API
// takes ArrayBuffers, so the options are converted on the way in and the
// credential on the way out.
"use strict";
(function () {
  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: fromB64url(d.id), transports: d.transports };
    });
  }
  // creationOptions turns PublicKeyCredentialCreationOptionsJSON into the
  // options of navigator.credentials.create.
  function creationOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = fromB64url(o.challenge);
    pk.user = Object.assign({}, o.user, { id: fromB64url(o.user.id) });
    pk.excludeCredentials = descriptors(o.excludeCredentials);
    return pk;
  }
  // requestOptions turns PublicKeyCredentialRequestOptionsJSON into the
  // options of navigator.credentials.get.
  function requestOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = fromB64url(o.challenge);
    if (o.allowCredentials) pk.allowCredentials = descriptors(o.allowCredentials);
    return pk;
  }
  // credentialJSON is RegistrationResponseJSON or AuthenticationResponseJSON.
  function credentialJSON(c) {
    var r = c.response, resp = { clientDataJSON: toB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      resp.attestationObject = toB64url(r.attestationObject);
      resp.transports = r.getTransports ? r.getTransports() : [];
    } else {
      resp.authenticatorData = toB64url(r.authenticatorData);
      resp.signature = toB64url(r.signature);
      if (r.userHandle) resp.userHandle = toB64url(r.userHandle);
    }
    return {
      id: c.id, rawId: toB64url(c.rawId), type: c.type, response: resp,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}
    };
  }
  function post(path, body, csrf) {
    var headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    return fetch(path, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (j) {
        if (!res.ok) {
          var e = new Error(j.error_description || "request failed");
          e.code = j.error;
          throw e;
        }
        return j;
      });
    });
  }
  function show(el, text) {
    el.textContent = text;
    el.hidden = false;
  }

  function signIn(box) {
    var button = box.querySelector("#passkey-login"), err = box.querySelector("#passkey-error");
    button.addEventListener("click", function () {
      err.hidden = true;
      button.disabled = true;
      // With data-mfa-token the passkey is the second step of a login
      // (/login/mfa's page); without, a passwordless login.
      var mfaToken = box.dataset.mfaToken;
      post("/v1/login/passkey/begin", mfaToken ? { mfa_token: mfaToken } : undefined).then(function (o) {
        return navigator.credentials.get({ publicKey: requestOptions(o.publicKey) });
      }).then(function (cred) {
        var body = credentialJSON(cred);
        if (mfaToken) body.mfa_token = mfaToken;
        else body.mode = "session";
        return post("/v1/login/passkey/finish", body);
      }).then(function () {
        if (box.dataset.returnTo) {
          window.location.assign(box.dataset.returnTo);
          return;
        }
        // As the password form's answer without return_to.
        var main = document.querySelector("main"), h = document.createElement("h1"), p = document.createElement("p");
        h.textContent = "Signed in";
        p.textContent = "You are signed in.";
        p.id = "message";
        main.replaceChildren(h, p);
        document.title = "Signed in · Gatehouse";
      }).catch(function (e) {
        button.disabled = false;
        show(err, e.code === "invalid_credentials" ? "That passkey did not sign you in. Try again, or use your password."
          : e.code === "rate_limited" ? "Too many attempts. Wait a while and try again."
          : e.name === "NotAllowedError" ? "The passkey prompt was closed. Try again when you are ready."
          : "Signing in with a passkey did not work. Use your password.");
      });
    });
  }

  function register(form) {
    var err = document.getElementById("passkey-error"), csrf = form.dataset.csrf;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      err.hidden = true;
      var button = form.querySelector("button");
      button.disabled = true;
      post("/v1/passkeys/register/begin", undefined, csrf).then(function (o) {
        return navigator.credentials.create({ publicKey: creationOptions(o.publicKey) });
      }).then(function (cred) {
        var body = credentialJSON(cred);
        body.name = form.querySelector("#passkey-name").value;
        return post("/v1/passkeys/register/finish", body, csrf);
      }).then(function () {
        // Back to where the enrolment came from (a local path the server
        // checked), or the list with the new passkey.
        if (form.dataset.returnTo) {
          window.location.assign(form.dataset.returnTo);
        } else {
          window.location.reload();
        }
      }).catch(function (e) {
        button.disabled = false;
        if (e.code === "reauthentication_required") {
          // A recent sign-in first (step-up), then back here.
          window.location.assign("/reauth?return_to=" + encodeURIComponent(window.location.pathname + window.location.search));
          return;
        }
        show(err, e.code === "reauthentication_required" ? "For your security, sign in again before adding a passkey."
          : e.code === "conflict" ? "This passkey is registered already."
          : e.name === "InvalidStateError" ? "This device already holds a passkey for your account."
          : e.name === "NotAllowedError" ? "The passkey prompt was closed. Try again when you are ready."
          : "Adding the passkey did not work: " + e.message);
      });
    });
  }

  // reauth is the step-up of the signed-in session: its assertion joins
  // the session's methods, then the page goes on to return_to.
  function reauth(box) {
    var button = box.querySelector("#passkey-reauth"), err = box.querySelector("#passkey-error"), csrf = box.dataset.csrf;
    button.addEventListener("click", function () {
      err.hidden = true;
      button.disabled = true;
      post("/v1/reauth/passkey/begin", undefined, csrf).then(function (o) {
        return navigator.credentials.get({ publicKey: requestOptions(o.publicKey) });
      }).then(function (cred) {
        return post("/v1/reauth/passkey/finish", credentialJSON(cred), csrf);
      }).then(function () {
        window.location.assign(box.dataset.returnTo || "/");
      }).catch(function (e) {
        button.disabled = false;
        show(err, e.code === "invalid_credentials" ? "That passkey was not accepted. Try again."
          : e.code === "rate_limited" ? "Too many attempts. Wait a while and try again."
          : e.name === "NotAllowedError" ? "The passkey prompt was closed. Try again when you are ready."
          : "Confirming with a passkey did not work.");
      });
    });
  }

  var supported = !!(window.PublicKeyCredential && navigator.credentials);
  var rbox = document.getElementById("passkey-reauth-box");
  if (rbox && supported) {
    rbox.hidden = false;
    reauth(rbox);
  }
  var box = document.getElementById("passkey-signin");
  if (box && supported) {
    box.hidden = false;
    signIn(box);
  }
  var form = document.getElementById("passkey-add");
  if (form) {
    if (supported) {
      form.hidden = false;
      register(form);
    } else {
      show(document.getElementById("passkey-error"), "This browser cannot create passkeys.");
    }
  }
})();
