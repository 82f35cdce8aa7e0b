// The visa as HTML, printed to PDF by a warm headless Chromium through
// playwright-core's page.pdf: the way serverless PDF services usually do it,
// for compare-chromium.sh to set against the typst renderer.
//
// Input is `visa-pdf view` output (the same formatted fields, MRZ and QR SVG
// the typst template gets) and the same embedded fonts (Libertinus Serif,
// OCR B), so both engines lay out the same visa.
//
// usage: node chromium-render.mjs --view view.json --out visa.pdf [--repeat N]
// Prints one line: `chromium first_ms=.. median_ms=.. p95_ms=.. min_ms=..
// pdf_only_median_ms=.. renders=N bytes=..`.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// playwright-core is installed once for the browser tests (tests/browser);
// reuse it rather than keeping a second node_modules.
const playwrightCore =
  process.env.PLAYWRIGHT_CORE ||
  join(here, '..', '..', 'tests', 'browser', 'node_modules', 'playwright-core', 'index.mjs');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
];

function parseArgs(argv) {
  const args = { repeat: 50 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--view') args.view = value;
    else if (flag === '--out') args.out = value;
    else if (flag === '--repeat') args.repeat = Number(value);
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!args.view || !args.out || !(args.repeat > 0)) {
    throw new Error('usage: node chromium-render.mjs --view view.json --out visa.pdf [--repeat N]');
  }
  return args;
}

const escape = (s) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function fontFace(family, file, weight) {
  const data = readFileSync(join(here, 'fonts', file)).toString('base64');
  return `@font-face { font-family: "${family}"; font-weight: ${weight};
    src: url(data:font/otf;base64,${data}) format("opentype"); }`;
}

const field = (en, ru, value, cls = '') =>
  `<div class="field ${cls}"><div class="label">${en} / ${ru}</div><div class="value">${escape(value)}</div></div>`;

/** The page's shell: fonts and styles, loaded once into the warm page. */
function shell() {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Electronic visa</title>
<style>
${fontFace('Libertinus Serif', 'LibertinusSerif-Regular.otf', 400)}
${fontFace('Libertinus Serif', 'LibertinusSerif-Bold.otf', 700)}
${fontFace('OCR B', 'OCRB.otf', 400)}
@page { size: A4; margin: 14mm 18mm 12mm 18mm; }
* { box-sizing: border-box; }
html, body { margin: 0; }
body { font-family: "Libertinus Serif"; font-size: 10.5pt; color: #17252d; line-height: 1.12;
  height: 266mm; display: flex; flex-direction: column; }
header { background: #006b84; color: #fff; border-radius: 1.5mm; padding: 5.5mm 7mm 6mm;
  display: grid; grid-template-columns: 1fr auto; row-gap: 3.5mm; align-items: end; }
header .no { text-align: right; }
header .small { font-size: 7.2pt; letter-spacing: 0.06em; }
header .number { font-size: 17pt; font-weight: 700; letter-spacing: 0.04em; }
header h1 { grid-column: span 2; font-size: 20pt; margin: 0; }
.gold { height: 1.6mm; background: #c99a06; margin-bottom: 5mm; }
h2 { font-size: 8.5pt; color: #006b84; letter-spacing: 0.05em; text-transform: uppercase;
  margin: 7mm 0 3mm; padding-bottom: 1.2mm; border-bottom: 0.6pt solid #c99a06; }
.top { position: relative; }
.top h2:first-child { margin-top: 0; }
.qr { position: absolute; right: 0; top: 14mm; width: 52mm; text-align: center;
  font-size: 8pt; color: #56666e; }
.qr .frame { border: 0.6pt solid #00afca; border-radius: 1.5mm; padding: 3.5mm; margin-bottom: 1.5mm; }
.qr svg { width: 45mm; height: 45mm; display: block; }
.fields { width: calc(100% - 61mm); }
.grid { display: grid; grid-template-columns: 1fr 1fr; row-gap: 4mm; column-gap: 5mm; }
.wide { grid-column: span 2; }
.label { font-size: 7.2pt; color: #56666e; letter-spacing: 0.06em; margin-bottom: 0.8mm; }
.value { font-size: 12.5pt; font-weight: 700; }
.big .value { font-size: 15pt; }
.ep .value { font-size: 11.5pt; }
.inviter { display: grid; grid-template-columns: 1fr 52mm; column-gap: 9mm; }
.notice { background: #f3f8fa; border-left: 2.5pt solid #006b84; padding: 4mm 5mm; margin-top: 8mm; }
.notice strong { font-size: 11pt; }
.notice .ru { font-size: 9pt; color: #56666e; margin-top: 1.5mm; }
.footer { margin-top: auto; font-size: 8pt; color: #56666e; margin-bottom: 4mm; }
.mrz { border-top: 0.5pt solid #56666e; padding: 4mm 5mm; font-family: "OCR B"; font-size: 10pt;
  color: #000; line-height: 1.6; font-kerning: none; font-variant-ligatures: none; white-space: pre; }
</style></head>
<body></body></html>`;
}

/** The page of visa.typ for one visa, in HTML (the body of shell()). */
function body(view, qrSvg) {
  const d = view;
  const qr = qrSvg.replace('<svg ', `<svg role="img" aria-label="${escape(d.qr_alt)}" `);
  return `<header>
  <div>
    <div lang="kk">Қазақстан Республикасы · Электрондық виза</div>
    <div lang="ru">Республика Казахстан · Электронная виза</div>
  </div>
  <div class="no"><div class="small">E-VISA NO. / № ВИЗЫ</div><div class="number">${escape(d.visa_number)}</div></div>
  <h1>Republic of Kazakhstan — Electronic visa</h1>
</header>
<div class="gold"></div>
<div class="top">
  <div class="qr"><div class="frame">${qr}</div>Scan to verify this e-visa<br><span lang="ru">Отсканируйте для проверки визы</span></div>
  <div class="fields">
    <h2>Visa</h2>
    <div class="grid">
      ${field('VISA NUMBER', 'НОМЕР ВИЗЫ', d.visa_number)}
      ${field('CATEGORY', 'КАТЕГОРИЯ', d.category)}
      ${field('ENTRIES', 'КОЛИЧЕСТВО ВЪЕЗДОВ', d.entries)}
      ${field('ISSUED', 'ДАТА ВЫДАЧИ', d.issued_at)}
      ${field('VALID FROM', 'ДЕЙСТВИТЕЛЬНА С', d.valid_from)}
      ${field('VALID UNTIL', 'ДЕЙСТВИТЕЛЬНА ДО', d.valid_until)}
    </div>
    <h2>Holder</h2>
    <div class="grid">
      ${field('SURNAME', 'ФАМИЛИЯ', d.surname, 'wide big')}
      ${field('GIVEN NAMES', 'ИМЕНА', d.given_names, 'wide big')}
      ${field('NATIONALITY', 'ГРАЖДАНСТВО', d.nationality)}
      ${field('SEX', 'ПОЛ', d.sex)}
      ${field('DATE OF BIRTH', 'ДАТА РОЖДЕНИЯ', d.date_of_birth)}
      ${field('PASSPORT NUMBER', 'НОМЕР ПАСПОРТА', d.passport_number)}
    </div>
  </div>
</div>
<h2>Inviting party</h2>
<div class="inviter">
  ${field('NAME', 'ПРИГЛАШАЮЩАЯ СТОРОНА', d.inviter_name)}
  ${field('BIN', 'БИН', d.inviter_bin)}
</div>
<h2>Entry points</h2>
<div class="grid">
  ${d.entry_points.map((p) => field('POINT OF ENTRY', 'ПУНКТ ПРОПУСКА', p, 'ep')).join('\n  ')}
</div>
<div class="notice">
  <strong>This e-visa is valid only with the passport it was issued for.</strong>
  Any discrepancy between this e-visa and the holder's passport makes the e-visa invalid.
  <div class="ru" lang="ru">Электронная виза действительна только с паспортом, на который она выдана. Любое несоответствие данных визы и паспорта делает визу недействительной.</div>
</div>
<div class="footer">Issued electronically on ${escape(d.issued_at)}. Border control can check this e-visa by its QR code or at ${escape(d.verify_url)}.</div>
<div class="mrz">${escape(d.mrz[0])}
${escape(d.mrz[1])}</div>`;
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const pick = (sorted, q) => sorted[Math.round((sorted.length - 1) * q)];

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { view, qr_svg: qrSvg } = JSON.parse(readFileSync(args.view, 'utf8'));
  const title = `Electronic visa ${view.visa_number} — Republic of Kazakhstan`;
  const visaHtml = body(view, qrSvg);
  const { chromium } = await import(pathToFileURL(resolve(playwrightCore)).href);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
  });
  try {
    const page = await browser.newPage();
    // Chromium's best case: a warm page that already holds the styles and
    // the parsed fonts; a request only swaps in its visa and prints.
    await page.setContent(shell(), { waitUntil: 'load' });
    const render = async () => {
      const t0 = process.hrtime.bigint();
      await page.evaluate(
        ([t, h]) => {
          document.title = t;
          document.body.innerHTML = h;
          return document.fonts.ready.then(() => undefined);
        },
        [title, visaHtml],
      );
      const t1 = process.hrtime.bigint();
      const pdf = await page.pdf({ format: 'A4', preferCSSPageSize: true, printBackground: true, tagged: true });
      return { total: ms(t0), pdfOnly: ms(t1), pdf };
    };
    const first = await render();
    const totals = [];
    const pdfOnly = [];
    let last = first.pdf;
    for (let i = 0; i < args.repeat; i++) {
      const r = await render();
      totals.push(r.total);
      pdfOnly.push(r.pdfOnly);
      last = r.pdf;
    }
    writeFileSync(args.out, last);
    totals.sort((a, b) => a - b);
    pdfOnly.sort((a, b) => a - b);
    const f = (x) => x.toFixed(2);
    console.log(
      `chromium first_ms=${f(first.total)} median_ms=${f(pick(totals, 0.5))} ` +
        `p95_ms=${f(pick(totals, 0.95))} min_ms=${f(totals[0])} ` +
        `pdf_only_median_ms=${f(pick(pdfOnly, 0.5))} renders=${args.repeat} bytes=${last.length}`,
    );
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`chromium-render: ${e.message}`);
  process.exit(1);
});
