// Passkey ceremonies for the login, account and enrolment pages. The
// server keeps the ceremony state; this script only moves JSON between it
// and navigator.credentials, sending the page's CSRF token in a header.
(function () {
  "use strict";
  if (!window.PublicKeyCredential) {
    return;
  }
  var csrf = window.gatehouseCSRF ||
    (document.querySelector('meta[name="csrf-token"]') || {getAttribute: function () { return ""; }}).getAttribute("content");

  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64u(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  // Older browsers lack the JSON helpers of WebAuthn level 3.
  function creationOptions(o) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(o);
    }
    o.challenge = b64uToBuf(o.challenge);
    o.user.id = b64uToBuf(o.user.id);
    (o.excludeCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
    return o;
  }
  function requestOptions(o) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(o);
    }
    o.challenge = b64uToBuf(o.challenge);
    (o.allowCredentials || []).forEach(function (c) { c.id = b64uToBuf(c.id); });
    return o;
  }
  function credentialJSON(c) {
    if (c.toJSON) { return c.toJSON(); }
    var r = c.response, out = {id: c.id, rawId: bufToB64u(c.rawId), type: c.type, response: {
      clientDataJSON: bufToB64u(r.clientDataJSON)}, clientExtensionResults: c.getClientExtensionResults()};
    if (r.attestationObject) {
      out.response.attestationObject = bufToB64u(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = bufToB64u(r.authenticatorData);
      out.response.signature = bufToB64u(r.signature);
      out.response.userHandle = r.userHandle ? bufToB64u(r.userHandle) : null;
    }
    return out;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf, "Accept": "application/json"},
      body: JSON.stringify(body || {})
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok) {
          var err = new Error((data.error && data.error.message) || ("HTTP " + resp.status));
          err.server = true;
          throw err;
        }
        return data;
      });
    });
  }

  function messageBox(anchor) {
    var box = document.getElementById("passkey-message");
    if (!box) {
      box = document.createElement("div");
      box.id = "passkey-message";
      box.className = "alert";
      box.setAttribute("role", "status");
      anchor.parentNode.insertBefore(box, anchor);
    }
    return box;
  }
  function show(anchor, text, ok) {
    var box = messageBox(anchor);
    box.hidden = false;
    box.className = "alert " + (ok ? "ok" : "error");
    box.textContent = text;
  }
  function failure(anchor, err) {
    // A dismissed or timed-out browser prompt is not the server's verdict.
    var text = err && err.server ? err.message :
      (anchor.getAttribute("data-cancelled") || "The passkey request was cancelled or failed.");
    show(anchor, text, false);
  }

  // Sign-in: a button, plus autofill (conditional mediation) on the email field.
  var loginBtn = document.getElementById("passkey-login");
  if (loginBtn) {
    var rd = loginBtn.getAttribute("data-rd") || "";
    var pending = null, clicked = false, finishing = false;
    var signIn = function (mode, signal) {
      var q = mode ? "?mode=" + mode : "";
      return post("/.gatehouse/passkey/login/begin" + q, {rd: rd}).then(function (opts) {
        var req = {publicKey: requestOptions(opts.publicKey)};
        if (mode === "conditional") { req.mediation = "conditional"; req.signal = signal; }
        return navigator.credentials.get(req);
      }).then(function (cred) {
        // Autofill and the button can both resolve; only one may finish,
        // or the second sign-in would end the first one's session while
        // the page is already leaving with the first one's cookie.
        if (finishing || (signal && signal.aborted)) { return null; }
        finishing = true;
        return post("/.gatehouse/passkey/login/finish" + q, credentialJSON(cred));
      }).then(function (res) {
        if (res) { window.location.assign(res.redirect || "/"); }
      }, function (err) {
        finishing = false;
        throw err;
      });
    };
    loginBtn.addEventListener("click", function () {
      clicked = true;
      if (pending) { pending.abort(); pending = null; }
      loginBtn.disabled = true;
      signIn("", null).catch(function (err) { failure(loginBtn, err); }).then(function () { loginBtn.disabled = false; });
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok || pending || clicked) { return; }
        pending = new AbortController();
        signIn("conditional", pending.signal).catch(function (err) {
          if (err && err.server) { failure(loginBtn, err); }
        });
      }).catch(function () {});
    }
  }

  function register(btn, begin, finish, body, done) {
    btn.disabled = true;
    post(begin, body).then(function (opts) {
      return navigator.credentials.create({publicKey: creationOptions(opts.publicKey)});
    }).then(function (cred) {
      return post(finish, credentialJSON(cred));
    }).then(done).catch(function (err) {
      failure(btn, err);
      btn.disabled = false;
    });
  }

  // Account page: add a passkey to the signed-in account.
  var addBtn = document.getElementById("passkey-add");
  if (addBtn) {
    addBtn.addEventListener("click", function () {
      var nameInput = document.getElementById("passkey-name");
      register(addBtn, "/.gatehouse/passkey/register/begin", "/.gatehouse/passkey/register/finish",
        {name: nameInput ? nameInput.value : ""}, function () {
          window.location.assign("/.gatehouse/account/?notice=added");
        });
    });
  }

  // Workstation enrolment from a one-time link.
  var enrolBtn = document.getElementById("enrol-start");
  if (enrolBtn) {
    enrolBtn.addEventListener("click", function () {
      var token = encodeURIComponent(enrolBtn.getAttribute("data-token") || "");
      register(enrolBtn, "/.gatehouse/enrol/begin?token=" + token, "/.gatehouse/enrol/finish", {}, function () {
        show(enrolBtn, enrolBtn.getAttribute("data-done") || "", true);
        enrolBtn.hidden = true;
        var done = document.getElementById("enrol-done");
        if (done) { done.hidden = false; }
      });
    });
  }
})();
