// Opens a .heapsnapshot in Chrome DevTools' own Memory panel, headless:
// chromium's remote debugging server (127.0.0.1) serves the DevTools
// frontend; the panel's Load button takes the file; then in the Summary
// view the row of CLASS is opened and its first instance selected (its
// retainers show below) and the page saved as PNG.  Prints as JSON the
// Summary's rows ("NAME ×COUNT DISTANCE SHALLOW RETAINED").  Usage:
//   node devtools.js CHROMIUM FILE CLASS PNG
'use strict';
const puppeteer = require('puppeteer-core');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every element matching SEL, through shadow roots.
function deepAll(sel) {
  const out = [];
  const walk = (root) => {
    root.querySelectorAll(sel).forEach((e) => out.push(e));
    root.querySelectorAll('*').forEach((e) => { if (e.shadowRoot) walk(e.shadowRoot); });
  };
  walk(document);
  return out;
}

async function waitFor(page, fn, arg, what, ms = 60000) {
  const t0 = Date.now();
  for (;;) {
    const h = await page.evaluateHandle(fn, arg);
    const el = h.asElement();
    if (el) return el;
    await h.dispose();
    if (Date.now() - t0 > ms) {
      await page.screenshot({ path: process.argv[5] + '.failed.png' });
      throw new Error('timed out waiting for ' + what + ' (the page: ' + process.argv[5] + '.failed.png)');
    }
    await sleep(250);
  }
}

async function main() {
  const [chromium, file, cls, png] = process.argv.slice(2);
  const port = 9300 + (process.pid % 500);
  const browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--remote-debugging-address=127.0.0.1', '--remote-debugging-port=' + port,
      '--window-size=1400,900'],
    defaultViewport: { width: 1400, height: 900 },
  });
  try {
    const inspected = await browser.newPage();
    await inspected.goto('about:blank');
    const id = inspected.target()._targetId;
    const page = await browser.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    browser.on('targetcreated', async (t) => {
      const w = await t.worker().catch(() => null);
      if (w) w.on('console', (m) => problems.push('worker: ' + m.text()));
    });
    process.on('exit', () => { if (problems.length) console.error(problems.slice(0, 20).join('\n')); });
    await page.goto('http://127.0.0.1:' + port + '/devtools/devtools_app.html?ws=127.0.0.1:' + port +
      '/devtools/page/' + id + '&panel=heap-profiler');
    const deep = deepAll.toString();
    // the Memory panel's Load button
    const load = await waitFor(page, (deep) => {
      const all = eval('(' + deep + ')')('button, devtools-button');
      return all.find((b) => /^Load( profile)?/.test((b.getAttribute('aria-label') || b.textContent || '').trim())) || null;
    }, deep, 'the Load button');
    const [chooser] = await Promise.all([page.waitForFileChooser(), load.click()]);
    await chooser.accept([file]);
    // the loaded snapshot in the sidebar, named after the file
    const base = require('path').basename(file).replace(/\.heapsnapshot$/, '');
    const item = await waitFor(page, (a) => {
      const all = eval('(' + a.deep + ')')('li');
      // loaded: no longer "(Loading…)" but "(SIZE)"
      return all.find((e) => (e.innerText || e.textContent || '').trim().startsWith(a.base) &&
        !e.classList.contains('wait') && !/Loading|Parsing|Snapshotting/.test(e.getAttribute('aria-label') || '')) || null;
    }, { deep, base }, 'the loaded snapshot', 120000);
    // a tree element selects on mousedown, and the view follows the
    // selection; Enter as well, for the keyboard path
    if (process.env.DEVTOOLS_DEBUG) console.error(await item.evaluate((e) => e.outerHTML.slice(0, 1500)));
    await sleep(2000);
    const box = await item.boundingBox();
    await page.mouse.click(box.x + 40, box.y + box.height / 2);
    await page.keyboard.press('Enter');
    // the Summary grid: its rows, by constructor (the type's name)
    await waitFor(page, (deep) => {
      const all = eval('(' + deep + ')')('tr');
      return all.find((r) => /\u00d7\d/.test(r.innerText || '')) || null;
    }, deep, 'the Summary rows', 120000);
    const rows = await page.evaluate((deep) => eval('(' + deep + ')')('tr')
      .map((r) => (r.innerText || '').replace(/\s+/g, ' ').trim()).filter((t) => /\u00d7\d/.test(t)), deep);
    // open the class and select its first instance: the retainers below
    const row = await waitFor(page, (a) => {
      const all = eval('(' + a.deep + ')')('tr');
      return all.find((r) => r.innerText.trim().startsWith(a.cls)) || null;
    }, { deep, cls }, 'the class row');
    await row.click();
    await page.keyboard.press('ArrowRight');
    await sleep(500);
    await page.keyboard.press('ArrowDown');
    await sleep(2000);
    await page.screenshot({ path: png });
    process.stdout.write(JSON.stringify({ rows: rows.slice(0, 20) }) + '\n');
  } finally {
    await browser.close();
  }
}
main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
