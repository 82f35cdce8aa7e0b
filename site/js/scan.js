// The camera as a barcode reader: the browser's Barcode Detection API where
// it reads QR codes and Data Matrix symbols, else the barcode-detector
// ponyfill (zxing-cpp in WebAssembly) vendored under /vendor (README there),
// loaded only when a scan starts.

const FORMATS = ['qr_code', 'data_matrix'];
const PONYFILL = '/vendor/barcode-detector/ponyfill.js';
const WASM = '/vendor/zxing-wasm/zxing_reader.wasm';

let detectorPromise = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`${src} did not load`));
    document.head.append(script);
  });
}

async function makeDetector() {
  if ('BarcodeDetector' in window) {
    try {
      const supported = await window.BarcodeDetector.getSupportedFormats();
      if (FORMATS.every((f) => supported.includes(f))) return new window.BarcodeDetector({ formats: FORMATS });
    } catch {
      // Present but unusable (no platform service): the ponyfill reads instead.
    }
  }
  if (!window.BarcodeDetectionAPI) await loadScript(PONYFILL);
  const api = window.BarcodeDetectionAPI;
  // The WebAssembly comes from this site, not from a CDN.
  api.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith('.wasm') ? WASM : prefix + path) },
  });
  return new api.BarcodeDetector({ formats: FORMATS });
}

/** One detector per page. */
export function detector() {
  if (!detectorPromise) {
    detectorPromise = makeDetector().catch((e) => {
      detectorPromise = null;
      throw e;
    });
  }
  return detectorPromise;
}

export function cameraAvailable() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/**
 * Reads barcodes from the camera into `video` until `onFrame` returns true
 * for a frame's codes (an array of {format, rawValue}) or `stop()` is called.
 */
export class Scanner {
  constructor(video, onFrame) {
    this.video = video;
    this.onFrame = onFrame;
    this.stream = null;
    this.running = false;
  }

  async start() {
    const detect = await detector();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 1920 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.running = true;
    while (this.running) {
      let codes = [];
      if (this.video.readyState >= 2) {
        try {
          codes = await detect.detect(this.video);
        } catch {
          codes = [];
        }
      }
      if (!this.running) break;
      if (codes.length && (await this.onFrame(codes))) break;
      await new Promise((r) => { setTimeout(r, 150); });
    }
    this.stop();
  }

  stop() {
    this.running = false;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}
