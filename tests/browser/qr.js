// Reads the QR code of a visa PDF with Debian's poppler (pdftoppm) and zbar
// (zbarimg), which tests/run.sh installs: the URL border control would open.
// Anything short of that URL is a failure, never a skip.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The `…/verify#<JWS>` URL in the PDF's QR code; throws saying why it cannot be read. */
export function visaUrlFromPdf(pdfPath) {
  const dir = mkdtempSync(join(tmpdir(), 'visa-qr-'));
  try {
    execFileSync('pdftoppm', ['-png', '-r', '200', '-singlefile', '-f', '1', pdfPath, join(dir, 'page')], { stdio: 'pipe' });
    // zbarimg exits 4 when it finds no code at all.
    const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sqrcode.enable', join(dir, 'page.png')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const decoded = out.split('\n').map((s) => s.trim()).filter(Boolean);
    const url = decoded.find((s) => /^https?:\/\/.+\/verify#/.test(s));
    if (!url) throw new Error(`the QR code holds no verification URL: ${JSON.stringify(decoded)}`);
    return url;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
