// Drives Debian's headless Chromium through the edgeidp portal, like a
// person would: a protected page, the login form, the launcher, the AWS
// link and its auto-POST to the ACS. Run by tests/integration/test_browser.py,
// which starts the web server and a stand-in ACS and checks what arrived.
//
//   node flow.js '{"base": "http://127.0.0.1:PORT", "acs": "http://...",
//                  "user": "alice", "password": "...", "out": "DIR",
//                  "modules": "DIR/node_modules", "javascript": true}'
//
// Prints one JSON line with what it saw; exits non-zero on a failed step,
// with the step and the page's URL and text.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const opts = JSON.parse(process.argv[2]);
const { chromium } = require(path.join(opts.modules, 'playwright-core'));

const CHROMIUM = process.env.EDGEIDP_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const STEP_TIMEOUT = 30000;

let step = 'start';
let current = null;  // the page, for the failure report
const seen = { steps: [] };

function note(name, extra) {
  step = name;
  seen.steps.push(Object.assign({ step: name }, extra || {}));
}

async function main() {
  const js = opts.javascript !== false;
  const tag = js ? 'js' : 'nojs';
  // A fresh profile every run (launchPersistentContext passes it to
  // Chromium as --user-data-dir); removed at the end.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeidp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    javaScriptEnabled: js,
    viewport: { width: 1000, height: 700 },
    timeout: 60000,
  });
  context.setDefaultTimeout(STEP_TIMEOUT);
  try {
    const page = context.pages()[0] || await context.newPage();
    current = page;
    const consoleErrors = [];
    // Script errors and failed loads, but not the browser's own favicon
    // request (neither the portal nor the stand-in ACS serves one).
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('response', (r) => {
      if (r.status() >= 400 && !new URL(r.url()).pathname.endsWith('/favicon.ico')) {
        consoleErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
      }
    });

    // 1. A protected page sends the browser to the login form.
    note('protected page redirects to login');
    await page.goto(opts.base + '/app/', { waitUntil: 'load' });
    const loginUrl = page.url();
    if (!loginUrl.includes('/edgeidp/login')) throw new Error('not on the login page');
    seen.login_url = loginUrl;
    seen.login_title = await page.title();
    seen.login_lang = await page.getAttribute('html', 'lang');
    await page.screenshot({ path: path.join(opts.out, `login-${tag}.png`), fullPage: true });

    // 2. The form, found the way a screen reader user finds it: by its
    // labels and the button's accessible name.
    note('fill the login form by its labels');
    await page.getByLabel(/user ?name/i).fill(opts.user);
    await page.getByLabel(/password/i).fill(opts.password);
    const submit = page.getByRole('button', { name: /sign in|log in|login/i });
    seen.submit_label = (await submit.innerText()).trim();
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), submit.click()]);
    seen.after_login_url = page.url();
    seen.after_login_text = (await page.locator('body').innerText()).slice(0, 4000);

    // 3. The launcher lists the apps; screenshot it.
    note('launcher');
    await page.goto(opts.base + '/edgeidp/', { waitUntil: 'load' });
    seen.launcher_url = page.url();
    seen.launcher_title = await page.title();
    seen.launcher_links = await page.$$eval('a', (as) => as.map((a) => ({
      text: a.innerText.trim(), href: a.getAttribute('href') })));
    await page.screenshot({ path: path.join(opts.out, `launcher-${tag}.png`), fullPage: true });

    // 4. The AWS link: with JavaScript the page POSTs itself to the ACS;
    // without, the person presses the fallback button.
    note('AWS link to the ACS');
    const link = page.getByRole('link', { name: opts.app_label || /AWS console/i });
    if (js) {
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(opts.acs), { waitUntil: 'load' }),
        link.click(),
      ]);
    } else {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
      seen.saml_page_url = page.url();
      seen.saml_page_title = await page.title();
      await page.screenshot({ path: path.join(opts.out, `saml-${tag}.png`), fullPage: true });
      note('no-JavaScript fallback button');
      const button = page.getByRole('button');
      seen.fallback_label = (await button.first().innerText()).trim();
      await Promise.all([
        page.waitForURL((u) => u.href.startsWith(opts.acs), { waitUntil: 'load' }),
        button.first().click(),
      ]);
    }
    seen.acs_url = page.url();
    seen.acs_text = (await page.locator('body').innerText()).trim();
    seen.console_errors = consoleErrors;
    note('done');
  } catch (err) {
    try {
      seen.failed_url = current && current.url();
      seen.failed_text = current && (await current.locator('body').innerText()).slice(0, 2000);
      if (current) await current.screenshot({ path: path.join(opts.out, `failed-${tag}.png`) });
    } catch (e) { /* the report is best effort */ }
    throw err;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => {
  process.stdout.write(JSON.stringify(seen) + '\n');
}, (err) => {
  seen.failed_step = step;
  seen.error = String(err && err.stack || err);
  process.stdout.write(JSON.stringify(seen) + '\n');
  process.exit(1);
});
