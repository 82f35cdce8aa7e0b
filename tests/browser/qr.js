// Reads the QR code of a visa PDF with Debian's poppler (pdftoppm) and zbar
// (zbarimg), when installed: the URL border control would open.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function have(tool) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The `…/verify#<JWS>` URL in the PDF's QR code, or null if it cannot be read here. */
export function visaUrlFromPdf(pdfPath) {
  if (!have('pdftoppm') || !have('zbarimg')) return null;
  const dir = mkdtempSync(join(tmpdir(), 'visa-qr-'));
  try {
    execFileSync('pdftoppm', ['-png', '-r', '200', '-singlefile', '-f', '1', pdfPath, join(dir, 'page')], { stdio: 'ignore' });
    const out = execFileSync('zbarimg', ['--quiet', '--raw', '-Sqrcode.enable', join(dir, 'page.png')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const url = out.split('\n').map((s) => s.trim()).find((s) => /^https?:\/\/.+\/verify#/.test(s));
    return url || null;
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
