// seedbank site script: sign-in with a browser wallet (EIP-1193 + EIP-4361) and copy buttons.
// No dependencies and no build step; every page loads it, and it does nothing where its elements
// are absent.
(function () {
  'use strict';

  // personal_sign takes the message as hex of its UTF-8 bytes, so non-ASCII text signs exactly.
  function hexOfUtf8(text) {
    var bytes = new TextEncoder().encode(text);
    var hex = '0x';
    for (var i = 0; i < bytes.length; i++) {
      hex += bytes[i].toString(16).padStart(2, '0');
    }
    return hex;
  }

  // The EIP-4361 text, field for field as the hub parses it: lines joined by "\n", no trailing newline.
  function siweMessage(challenge, address, issuedAt) {
    return [
      challenge.domain + ' wants you to sign in with your Ethereum account:',
      address,
      '',
      challenge.statement,
      '',
      'URI: ' + challenge.uri,
      'Version: 1',
      'Chain ID: ' + challenge.chain_id,
      'Nonce: ' + challenge.nonce,
      'Issued At: ' + issuedAt.toISOString(),
      'Expiration Time: ' + new Date(challenge.expires * 1000).toISOString()
    ].join('\n');
  }

  function show(status, text, kind) {
    status.textContent = text;
    status.className = kind || '';
  }

  // The hub answers errors as {"error": {"code", "message"}}; anything else is shown as its status.
  async function errorText(response) {
    try {
      var body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (e) { /* not JSON */ }
    return 'The hub answered ' + response.status + ' ' + response.statusText;
  }

  async function walletSignIn(button, status) {
    // Read at click time: wallets (and tests) may inject the provider after the page loaded.
    var ethereum = window.ethereum;
    if (!ethereum || typeof ethereum.request !== 'function') {
      show(status, 'No browser wallet found. Install one (for example MetaMask) or use the command line below.', 'error');
      return;
    }
    button.disabled = true;
    try {
      show(status, 'Asking your wallet for your account…');
      var accounts = await ethereum.request({ method: 'eth_requestAccounts' });
      if (!accounts || !accounts.length) throw new Error('The wallet shared no account.');
      var address = accounts[0];

      // A fresh nonce each time: the one the page was rendered with may be used or stale.
      var nonceResponse = await fetch('/api/v1/auth/nonce', { headers: { Accept: 'application/json' } });
      if (!nonceResponse.ok) throw new Error(await errorText(nonceResponse));
      var challenge = await nonceResponse.json();

      var message = siweMessage(challenge, address, new Date());
      show(status, 'Sign the message in your wallet…');
      var signature = await ethereum.request({
        method: 'personal_sign',
        params: [hexOfUtf8(message), address]
      });

      show(status, 'Checking the signature…');
      var session = await fetch('/api/v1/auth/session', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ message: message, signature: signature })
      });
      if (!session.ok) throw new Error(await errorText(session));
      var signedIn = await session.json();
      show(status, 'Signed in as ' + signedIn.name + '.', 'ok');
      window.location.assign('/members/' + encodeURIComponent(signedIn.name));
    } catch (err) {
      // EIP-1193 errors carry a message; code 4001 is the user saying no.
      var text = err && err.code === 4001 ? 'You declined the request in your wallet.'
        : (err && err.message) || String(err);
      show(status, text, 'error');
    } finally {
      button.disabled = false;
    }
  }

  function copyButtons() {
    var buttons = document.querySelectorAll('[data-copy]');
    Array.prototype.forEach.call(buttons, function (button) {
      button.hidden = !navigator.clipboard;
      button.addEventListener('click', function () {
        var source = document.querySelector(button.getAttribute('data-copy'));
        if (!source || !navigator.clipboard) return;
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          var label = button.textContent;
          button.textContent = 'Copied';
          setTimeout(function () { button.textContent = label; }, 1500);
        });
      });
    });
  }

  function init() {
    var button = document.getElementById('wallet-signin');
    var status = document.getElementById('signin-status');
    if (button && status) {
      button.addEventListener('click', function () { walletSignIn(button, status); });
    }
    copyButtons();
  }

  // For tests and curious members: the message composer, as the button uses it.
  window.seedbank = { siweMessage: siweMessage, hexOfUtf8: hexOfUtf8 };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
